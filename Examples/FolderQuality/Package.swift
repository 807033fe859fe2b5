// swift-tools-version: 6.0
// BRISQUE and PIQE of every PNG in a folder.
import PackageDescription

let package = Package(
    name: "FolderQuality",
    platforms: [.macOS(.v14)],
    dependencies: [
        // SLKD itself, from this checkout.
        .package(name: "SLKD", path: "../.."),
    ],
    targets: [
        .executableTarget(
            name: "FolderQuality",
            dependencies: [.product(name: "SLKDQuality", package: "SLKD")]),
    ],
    swiftLanguageModes: [.v6]
)
