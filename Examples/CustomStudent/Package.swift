// swift-tools-version: 6.0
// Distils a student written from scratch with SLKD.
import PackageDescription

let package = Package(
    name: "CustomStudent",
    platforms: [.macOS(.v14)],
    dependencies: [
        // SLKD itself, from this checkout.
        .package(name: "SLKD", path: "../.."),
        // The Trainer logs through swift-log.
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
    ],
    targets: [
        .executableTarget(
            name: "CustomStudent",
            dependencies: [
                .product(name: "SLKDModels", package: "SLKD"),
                .product(name: "SLKDDistill", package: "SLKD"),
                .product(name: "Logging", package: "swift-log"),
            ]),
    ],
    swiftLanguageModes: [.v6]
)
