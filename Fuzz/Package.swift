// swift-tools-version: 6.0
// libFuzzer harnesses for SLKD's readers of untrusted files, kept out of the main package so that
// its normal build never sees -sanitize=fuzzer. Build and run one with Scripts/fuzz.sh.
import Foundation
import PackageDescription

// A path dependency's identity is its folder's name, which differs between checkouts.
let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
let slkd = root.lastPathComponent

func harness(_ name: String, _ products: [String]) -> Target {
    .executableTarget(name: name, dependencies: ["CFuzzDriver"] + products.map { .product(name: $0, package: slkd) })
}

let package = Package(
    name: "SLKDFuzz",
    platforms: [.macOS(.v14)],
    dependencies: [.package(path: root.path)],
    targets: [
        .target(name: "CFuzzDriver"),
        harness("FuzzSafeTensors", ["SLKDTensor"]),
        harness("FuzzPyTorch", ["SLKDModels"]),
        harness("FuzzPNG", ["SLKDTensor"]),
        harness("FuzzOptions", ["SLKDDistill"]),
        harness("FuzzCheckpoint", ["SLKDDistill"]),
    ],
    swiftLanguageModes: [.v6]
)
