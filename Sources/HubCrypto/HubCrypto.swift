// HubCrypto: placeholder until the module lands.
