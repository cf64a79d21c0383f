// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "schemagate",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "schemagate", targets: ["schemagate"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.0.0"..<"5.0.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.6.0"),
    ],
    targets: [
        // C libraries, each reached through one thin Swift module.
        .systemLibrary(
            name: "CLibPQ",
            pkgConfig: "libpq",
            providers: [.apt(["libpq-dev"])]
        ),
        .systemLibrary(
            name: "CSystemd",
            pkgConfig: "libsystemd",
            providers: [.apt(["libsystemd-dev"])]
        ),
        .target(name: "PQ", dependencies: ["CLibPQ"]),
        .target(
            name: "Systemd",
            dependencies: ["CSystemd", .product(name: "Logging", package: "swift-log")]
        ),

        // Pure decisions: migration files, plans, the lock protocol. No I/O beyond reading a folder.
        .target(
            name: "SchemagateCore",
            dependencies: [.product(name: "Crypto", package: "swift-crypto")]
        ),
        // The SQL that executes those decisions against PostgreSQL.
        .target(
            name: "SchemagateStore",
            dependencies: [
                "PQ", "SchemagateCore",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The sidecar: the protocol under systemd (sd_notify, signals, the version watcher).
        .target(
            name: "SchemagateDaemon",
            dependencies: [
                "SchemagateCore", "SchemagateStore", "PQ", "Systemd",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ]
        ),
        .executableTarget(
            name: "schemagate",
            dependencies: [
                "SchemagateCore", "SchemagateStore", "SchemagateDaemon", "PQ", "Systemd",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),

        .testTarget(name: "SchemagateCoreTests", dependencies: ["SchemagateCore"]),
        // Starts a throwaway PostgreSQL cluster (initdb + pg_ctl, Unix socket, free port) for the real-server tests.
        .target(name: "PostgresHarness", dependencies: ["PQ"], path: "Tests/PostgresHarness"),
        .testTarget(
            name: "SchemagateIntegrationTests",
            dependencies: ["PostgresHarness", "PQ", "SchemagateCore", "SchemagateStore", "schemagate"]
        ),
    ]
)
