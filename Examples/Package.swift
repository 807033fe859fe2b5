// swift-tools-version: 6.0
// Small programs that use SLKD as a library would: one package, one executable per folder, so that
// SLKD is built once for all of them.
//
//   swift run -c release --package-path Examples RestoreImage INPUT.png OUTPUT.png
//   swift run -c release --package-path Examples CustomStudent
//   swift run -c release --package-path Examples FolderQuality FOLDER
//   swift run -c release --package-path Examples ReadmeSnippet
//   swift run -c release --package-path Examples CustomTerm
import PackageDescription

let package = Package(
    name: "SLKDExamples",
    platforms: [.macOS(.v14)],
    dependencies: [
        // SLKD itself, from this checkout. The name lets the products below say `package: "SLKD"`
        // whatever the checkout's folder is called.
        .package(name: "SLKD", path: ".."),
        // The Trainer logs through swift-log.
        .package(url: "https://github.com/apple/swift-log", from: "1.11.0"),
    ],
    targets: [
        // Restores a PNG with a model preset and optional weights.
        .executableTarget(
            name: "RestoreImage",
            dependencies: [.product(name: "SLKDModels", package: "SLKD")],
            path: "RestoreImage", exclude: ["README.md"]),
        // Distils a student written from scratch with SLKD.
        .executableTarget(
            name: "CustomStudent",
            dependencies: [
                .product(name: "SLKDModels", package: "SLKD"),
                .product(name: "SLKDDistill", package: "SLKD"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "CustomStudent", exclude: ["README.md"]),
        // The README's Swift snippet, verbatim (Scripts/examples.sh checks that they are identical).
        .executableTarget(
            name: "ReadmeSnippet",
            dependencies: [
                .product(name: "SLKDModels", package: "SLKD"),
                .product(name: "SLKDDistill", package: "SLKD"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "ReadmeSnippet", exclude: ["README.md"]),
        // A loss term of your own added to the distillation loss.
        .executableTarget(
            name: "CustomTerm",
            dependencies: [
                .product(name: "SLKDModels", package: "SLKD"),
                .product(name: "SLKDDistill", package: "SLKD"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "CustomTerm", exclude: ["README.md"]),
        // BRISQUE and PIQE of every PNG in a folder.
        .executableTarget(
            name: "FolderQuality",
            dependencies: [.product(name: "SLKDQuality", package: "SLKD")],
            path: "FolderQuality", exclude: ["README.md"]),
    ],
    swiftLanguageModes: [.v6]
)
