// swift-tools-version: 6.0
// Restores a PNG with one of SLKD's model presets.
import PackageDescription

let package = Package(
    name: "RestoreImage",
    platforms: [.macOS(.v14)],
    dependencies: [
        // SLKD itself, from this checkout.
        .package(name: "SLKD", path: "../.."),
    ],
    targets: [
        .executableTarget(
            name: "RestoreImage",
            dependencies: [.product(name: "SLKDModels", package: "SLKD")]),
    ],
    swiftLanguageModes: [.v6]
)
