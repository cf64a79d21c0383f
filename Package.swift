// swift-tools-version:6.1
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
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.6.0"),
        // The status socket: Hummingbird serves it (no Foundation or swift-configuration traits:
        // fewer modules to build); the CLI's client speaks NIO's HTTP/1 directly.
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1", traits: []),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
    ],
    targets: [
        // C libraries, each reached through one thin Swift module.
        .systemLibrary(
            name: "CLibPQ",
            pkgConfig: "libpq",
            providers: [.apt(["libpq-dev"])]
        ),
        // libsystemd is opened on first use (Sources/CSystemd/systemd.c), not linked: the
        // headers come from libsystemd-dev, the library from libsystemd0 at run time.
        .target(name: "CSystemd"),
        .systemLibrary(
            name: "CCrypto",
            pkgConfig: "libcrypto",
            providers: [.apt(["libssl-dev"])]
        ),
        .target(name: "PQ", dependencies: ["CLibPQ"]),
        .target(name: "Digest", dependencies: ["CCrypto"]),
        .target(
            name: "Systemd",
            dependencies: ["CSystemd", .product(name: "Logging", package: "swift-log")]
        ),

        // Pure decisions: migration files, plans, the lock protocol. No I/O beyond reading a folder.
        .target(name: "SchemagateCore", dependencies: ["Digest"]),
        // The SQL that executes those decisions against PostgreSQL.
        .target(
            name: "SchemagateStore",
            dependencies: [
                "PQ", "SchemagateCore",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The sidecar: the protocol under systemd (sd_notify, signals, the version watcher) and
        // its status socket (HTTP/1.1 with /status, /healthz, /wait and Prometheus /metrics).
        .target(
            name: "SchemagateDaemon",
            dependencies: [
                "SchemagateCore", "SchemagateStore", "PQ", "Systemd",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ]
        ),
        .executableTarget(
            name: "schemagate",
            dependencies: [
                "SchemagateCore", "SchemagateStore", "SchemagateDaemon", "PQ", "Systemd",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),

        .testTarget(name: "SchemagateCoreTests", dependencies: ["SchemagateCore"]),
        // Starts a throwaway PostgreSQL cluster (initdb + pg_ctl, Unix socket, free port) for the real-server tests.
        .target(name: "PostgresHarness", dependencies: ["PQ"], path: "Tests/PostgresHarness"),
        .testTarget(
            name: "SchemagateIntegrationTests",
            dependencies: [
                "PostgresHarness", "PQ", "SchemagateCore", "SchemagateStore", "schemagate",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
    ]
)
