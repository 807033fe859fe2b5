// swift-tools-version: 6.0
// SLKD: Simultaneous Learning Knowledge Distillation for image-restoration transformers.
import PackageDescription

let package = Package(
    name: "SLKD",
    platforms: [.macOS(.v14)],
    products: [
        .library(name: "SLKDTensor", targets: ["SLKDTensor"]),
        .library(name: "SLKDModels", targets: ["SLKDModels"]),
        .library(name: "SLKDQuality", targets: ["SLKDQuality"]),
        .library(name: "SLKDDistill", targets: ["SLKDDistill"]),
        .library(name: "SLKDDistributed", targets: ["SLKDDistributed"]),
        .executable(name: "slkd", targets: ["SLKDTool"]),
        .executable(name: "slkd-bench", targets: ["SLKDBenchmarks"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-numerics", from: "1.1.1"),
        .package(url: "https://github.com/jpsim/Yams", from: "5.0.1"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        // 1.11 added `LogHandler.log(event:)`, which PlainLogHandler implements.
        .package(url: "https://github.com/apple/swift-log", from: "1.11.0"),
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.5.0"),
        // TensorBoard event records (the generated code for them is committed, so no plugin runs).
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
    ],
    targets: [
        // System libraries, found through pkg-config (Debian: libopenblas-dev, liblapacke-dev, libpng-dev,
        // libturbojpeg0-dev).
        .systemLibrary(
            name: "CSLKDOpenBLAS", path: "Sources/CSLKDOpenBLAS", pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(
            name: "CSLKDLapacke", path: "Sources/CSLKDLapacke", pkgConfig: "lapacke",
            providers: [.apt(["liblapacke-dev"])]),
        .systemLibrary(
            name: "CSLKDPNG", path: "Sources/CSLKDPNG", pkgConfig: "libpng",
            providers: [.apt(["libpng-dev"])]),
        .systemLibrary(
            name: "CSLKDTurboJPEG", path: "Sources/CSLKDTurboJPEG", pkgConfig: "libturbojpeg",
            providers: [.apt(["libturbojpeg0-dev"])]),
        // Open MPI, for data-parallel training only: no library below SLKDDistributed needs it.
        .systemLibrary(
            name: "CSLKDMPI", path: "Sources/CSLKDMPI", pkgConfig: "ompi-c",
            providers: [.apt(["libopenmpi-dev", "openmpi-bin"])]),

        // Element-wise math kernels in C, each compiled for AVX-512, AVX2+FMA and the baseline
        // through per-function target attributes, chosen at start-up (no unsafeFlags needed).
        .target(name: "CSLKDKernels"),

        .target(
            name: "SLKDTensor",
            dependencies: [
                "CSLKDKernels", "CSLKDOpenBLAS", "CSLKDLapacke", "CSLKDPNG", "CSLKDTurboJPEG",
                .product(name: "RealModule", package: "swift-numerics"),
            ]),
        .target(name: "SLKDModels", dependencies: ["SLKDTensor", .product(name: "Yams", package: "Yams")]),
        .target(name: "SLKDQuality", dependencies: ["SLKDTensor"], resources: [.copy("Resources")]),
        .target(
            name: "SLKDDistill",
            dependencies: [
                "SLKDTensor", "SLKDModels", "SLKDQuality", .product(name: "Logging", package: "swift-log"),
                .product(name: "Yams", package: "Yams"), .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            resources: [.copy("Resources/SampleImages"), .copy("Resources/DemoTeacher")]),

        // Data parallelism over MPI: SLKDDistill's Communicator on Open MPI.
        .target(name: "SLKDDistributed", dependencies: ["CSLKDMPI", "SLKDDistill", "SLKDTensor"]),

        // Shared by the test targets: PyTorch reference vectors and tolerance checks, and the
        // official-code reference data (Vectors/Reference), read through #filePath, not bundled.
        .target(name: "SLKDTestSupport", dependencies: ["SLKDTensor"], path: "Tests/SLKDTestSupport", exclude: ["Vectors"]),

        // The report's SVG charts (a library so that tests can reach them in release builds too).
        .target(name: "SLKDReport"),

        .executableTarget(
            name: "SLKDTool",
            dependencies: [
                "SLKDTensor", "SLKDModels", "SLKDQuality", "SLKDDistill", "SLKDDistributed", "SLKDReport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]),
        .executableTarget(
            name: "SLKDBenchmarks",
            dependencies: [
                "SLKDTensor", "SLKDModels", "SLKDQuality", "SLKDDistill", "CSLKDOpenBLAS",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),

        .testTarget(
            name: "SLKDTensorTests", dependencies: ["SLKDTensor", "SLKDTestSupport"],
            resources: [.copy("Vectors")]),
        .testTarget(
            name: "SLKDModelsTests", dependencies: ["SLKDModels", "SLKDTestSupport", .product(name: "Yams", package: "Yams")],
            resources: [.copy("Vectors")]),
        .testTarget(
            name: "SLKDDistillTests", dependencies: ["SLKDDistill", "SLKDTestSupport", .product(name: "Logging", package: "swift-log")],
            resources: [.copy("Vectors")]),
        .testTarget(
            name: "SLKDToolTests", dependencies: ["SLKDTool", "SLKDTensor", "SLKDModels", "SLKDReport", "SLKDTestSupport"]),
        .testTarget(name: "SLKDQualityTests", dependencies: ["SLKDQuality", "SLKDTestSupport"]),
    ],
    swiftLanguageModes: [.v6]
)
