// HubStore: placeholder until the module lands.
