// swift-tools-version:6.0
import PackageDescription

let strictSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "calisd",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "calisd", targets: ["calisd"]),
        .library(name: "MARC", targets: ["MARC"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        // System libraries the codec reads through: libxml2 for MARCXML, zlib for gzip.
        .systemLibrary(name: "CLibXML2", pkgConfig: "libxml-2.0", providers: [.apt(["libxml2-dev"])]),
        .systemLibrary(name: "CZlib", providers: [.apt(["zlib1g-dev"])]),
        .target(
            name: "MARC",
            dependencies: ["CLibXML2", "CZlib"],
            swiftSettings: strictSettings
        ),
        .target(
            name: "CLI",
            dependencies: [
                "MARC",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strictSettings
        ),
        .executableTarget(name: "calisd", dependencies: ["CLI"], swiftSettings: strictSettings),
        .testTarget(
            name: "MARCTests",
            dependencies: ["MARC"],
            resources: [.copy("Fixtures")],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "CLITests",
            dependencies: ["MARC"],
            swiftSettings: strictSettings
        ),
    ],
    swiftLanguageModes: [.v6]
)
