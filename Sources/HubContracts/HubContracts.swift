// HubContracts: placeholder until the module lands.
