// swift-tools-version:6.0
//
// Huitong (汇通): a message-driven integration hub for enterprise financial services.
// The target list mirrors the layers in ../shared/DESIGN.md: system libraries, a pure core,
// I/O wrappers, the composition root, and a thin executable. Dependencies point down the list.

import PackageDescription

let package = Package(
    name: "huitong",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "huitong", targets: ["huitong"]),
        .library(name: "HubCore", targets: ["HubCore"]),
        .library(name: "HubAMQP", targets: ["HubAMQP"]),
        .library(name: "HubStore", targets: ["HubStore"]),
        .library(name: "HubCrypto", targets: ["HubCrypto"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-configuration", from: "1.4.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
    ],
    targets: [
        // MARK: System libraries (module map + shim.h; nothing else)
        .systemLibrary(
            name: "CRabbitMQ",
            pkgConfig: "librabbitmq",
            providers: [.apt(["librabbitmq-dev"])]
        ),
        .systemLibrary(
            name: "CLibPQ",
            pkgConfig: "libpq",
            providers: [.apt(["libpq-dev"])]
        ),
        .systemLibrary(
            name: "COpenSSL",
            pkgConfig: "openssl",
            providers: [.apt(["libssl-dev"])]
        ),

        // MARK: Pure core: no I/O, no C
        .target(
            name: "HubCore",
            dependencies: [
                .product(name: "Logging", package: "swift-log")
            ]
        ),

        // Contracts: JSON Schema (2020-12 subset) validation of messages against contracts/. Pure, no I/O.
        .target(
            name: "HubContracts",
            dependencies: ["HubCore"]
        ),

        // MARK: I/O wrappers
        .target(
            name: "HubCrypto",
            dependencies: ["COpenSSL"]
        ),
        .target(
            name: "HubAMQP",
            dependencies: [
                "CRabbitMQ",
                "HubCore",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "HubStore",
            dependencies: [
                "CLibPQ",
                "HubCore",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),

        // MARK: Runtime
        .target(name: "HubRuntime", dependencies: ["HubCore", "HubAMQP", "HubStore",
            .product(name: "Logging", package: "swift-log"), .product(name: "Metrics", package: "swift-metrics"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle")]),

        // MARK: Domain services: each imports HubCore, HubRuntime and HubStore, never another domain
        .target(
            name: "SampleService",
            dependencies: ["HubCore", "HubRuntime", "HubStore"],
            path: "Sources/Domains/Sample"
        ),
        .target(
            name: "PaymentsService",
            dependencies: ["HubCore", "HubRuntime", "HubStore",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle")],
            path: "Sources/Domains/Payments"
        ),

        // MARK: Adapters: each imports HubCore, HubContracts, HubRuntime and HubStore, never a domain or another adapter
        // Deterministic randomness and fault settings shared by the adapters' simulators.
        .target(name: "AdapterSimulation", path: "Sources/Adapters/Simulation"),
        .target(
            name: "InterbankAdapter",
            dependencies: [
                "HubCore", "HubContracts", "HubRuntime", "HubStore", "AdapterSimulation",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ],
            path: "Sources/Adapters/Interbank"
        ),
        .target(
            name: "ECNYAdapter",
            dependencies: [
                "HubCore", "HubContracts", "HubRuntime", "HubStore", "HubCrypto", "AdapterSimulation",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ],
            path: "Sources/Adapters/ECNY"
        ),

        // MARK: Taps
        // The compliance checker (tap.compliance): rules, holds, reports. Never imports a domain.
        .target(
            name: "ComplianceChecker",
            dependencies: [
                "HubCore", "HubRuntime", "HubStore",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Sources/Compliance"
        ),

        // MARK: Taps: the audit sink (SM3-chained audit.records); never imports a domain
        .target(
            name: "AuditSink",
            dependencies: [
                "HubCore", "HubAMQP", "HubStore", "HubCrypto",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Sources/Audit"
        ),

        // MARK: Edge: the partner gateway (HTTP + direct AMQP partners); never imports a domain
        .target(
            name: "Gateway",
            dependencies: [
                "HubCore", "HubContracts", "HubAMQP", "HubStore", "HubCrypto", "HubRuntime",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),

        // MARK: Tools: load generators and measurement (`huitong bench`, `huitong demo`); talk to the hub only through
        // the broker, the database and child `huitong serve` processes, never through a domain's code.
        .target(
            name: "HubBench",
            dependencies: [
                "HubCore", "HubAMQP", "HubStore", "HubRuntime",
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Sources/Bench"
        ),

        // MARK: Composition root
        .target(
            name: "HubApp",
            dependencies: [
                "HubCore",
                "HubContracts",
                "HubAMQP",
                "HubStore",
                "HubCrypto",
                "HubRuntime",
                "SampleService",
                "PaymentsService",
                "InterbankAdapter",
                "ECNYAdapter",
                "AdapterSimulation",
                "ComplianceChecker",
                "AuditSink",
                "Gateway",
                "HubBench",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "Configuration", package: "swift-configuration"),
            ]
        ),

        // MARK: The executable: argument parsing and wiring only
        .executableTarget(
            name: "huitong",
            dependencies: [
                "HubApp",
                "HubBench",
                "HubCore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),

        // MARK: Tests. Unit tests need no servers; IntegrationTests and CLITests use deploy/local's.
        // Shared by the test targets: running commands without pipes or blocked threads (Command.swift).
        .target(name: "HubTestSupport", path: "Tests/HubTestSupport"),
        .testTarget(name: "HubCoreTests", dependencies: ["HubCore"]),
        .testTarget(name: "HubContractsTests", dependencies: ["HubContracts", "HubCore", "PaymentsService"]),
        .testTarget(name: "HubCryptoTests", dependencies: ["HubCrypto"]),
        .testTarget(name: "HubAMQPTests", dependencies: ["HubAMQP", "HubCore"]),
        .testTarget(name: "HubStoreTests", dependencies: ["HubStore", "HubCore"]),
        .testTarget(name: "HubRuntimeTests", dependencies: ["HubRuntime", "HubCore", "HubAMQP"]),
        .testTarget(
            name: "IntegrationTests",
            dependencies: [
                "HubAMQP", "HubStore", "HubCore", "HubApp", "HubRuntime", "PaymentsService", "HubTestSupport",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .testTarget(
            name: "CLITests",
            dependencies: ["HubCore", "HubAMQP", "HubTestSupport", .product(name: "Logging", package: "swift-log")]),
        .testTarget(name: "PaymentsTests", dependencies: ["PaymentsService", "HubCore", "HubRuntime", "HubStore"]),
        // The adapters: pure tests (XML, ISO 20022 rules, SM2 signing) and flows against the real broker, database
        // and the simulators started in-process.
        .testTarget(
            name: "AdapterTests",
            dependencies: [
                "InterbankAdapter", "ECNYAdapter", "AdapterSimulation", "HubCore", "HubContracts", "HubCrypto",
                "HubRuntime", "HubStore", "HubAMQP",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ]
        ),
        .testTarget(
            name: "ComplianceTests",
            dependencies: [
                "ComplianceChecker", "HubCore", "HubRuntime", "HubStore", "HubAMQP", "HubContracts", "HubApp",
                "HubTestSupport",
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            resources: [.copy("Fixtures")]
        ),
        .testTarget(
            name: "AuditSinkTests",
            dependencies: [
                "AuditSink", "HubCore", "HubAMQP", "HubStore", "HubCrypto", "HubTestSupport",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .testTarget(
            name: "GatewayTests",
            dependencies: [
                "Gateway", "HubCore", "HubContracts", "HubAMQP", "HubStore", "HubCrypto", "HubRuntime", "HubApp",
                "AuditSink", "HubTestSupport",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Configuration", package: "swift-configuration"),
            ]
        ),
        .testTarget(
            name: "BenchTests",
            dependencies: [
                "HubBench", "HubCore", "HubStore", "HubAMQP", "HubTestSupport", .product(name: "Logging", package: "swift-log"),
            ]),
    ]
)

// One settings list, applied to every Swift target (STYLE.md §1).
for target in package.targets where [.executable, .test, .regular].contains(target.type) {
    var settings = target.swiftSettings ?? []
    settings.append(.swiftLanguageMode(.v6))
    settings.append(.enableUpcomingFeature("ExistentialAny"))
    settings.append(.enableUpcomingFeature("MemberImportVisibility"))
    settings.append(.enableUpcomingFeature("InternalImportsByDefault"))
    target.swiftSettings = settings
}
