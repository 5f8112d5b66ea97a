// HubApp: placeholder until the module lands.
