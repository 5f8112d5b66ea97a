import AdapterSimulation

typealias SimulatorFaultsAlias = SimulatorFaults
