// HubAMQP: placeholder until the module lands.
