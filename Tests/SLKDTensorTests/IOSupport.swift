import Foundation
import Testing
import SLKDTensor

/// A float in the fixture JSON: a number, or "nan" / "inf" / "-inf" (JSON has no non-finite numbers).
struct FixtureNumber: Decodable {
    var value: Double
    init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let d = try? c.decode(Double.self) { value = d; return }
        switch try c.decode(String.self) {
        case "nan": value = .nan
        case "inf": value = .infinity
        case "-inf": value = -.infinity
        case let s: throw DecodingError.dataCorruptedError(in: c, debugDescription: "not a number: \(s)")
        }
    }
}

/// `Vectors/io/expected.json`, written by `Scripts/torchref/io_fixtures.py`.
struct IOFixtures: Decodable {
    struct TensorRecord: Decodable {
        var dtype: String
        var shape: [Int]
        var data: [FixtureNumber]?
        var ints: [Int64]?
    }
    struct SafeTensorsFile: Decodable {
        var metadata: [String: String]
        var order: [String]
        var tensors: [String: TensorRecord]
    }
    struct CorruptCase: Decodable {
        var reason: String
        var key: String?
    }
    struct PNGRecord: Decodable {
        var bitDepth: Int
        var storedChannels: Int
        var palette: Bool
        var shape: [Int]
        var ints: [Int]
        var data: [Double]
        var alphaExact: Bool
    }
    struct Rounding: Decodable {
        var inputs: [FixtureNumber]
        var f16: [FixtureNumber]
        var bf16: [FixtureNumber]
    }

    var safetensors: [String: SafeTensorsFile]
    var corrupt_safetensors: [String: CorruptCase]
    var png: [String: PNGRecord]
    var corrupt_png: [String]
    /// Files libpng decodes with a warning, mapped to the intact file with the same pixels.
    var png_warnings: [String: String]
    var rounding: Rounding
    var pillow_luma: [String: [Int]]

    static let directory: URL = Bundle.module.url(forResource: "io", withExtension: nil, subdirectory: "Vectors")!
    static let shared: IOFixtures = {
        let data = try! Data(contentsOf: directory.appendingPathComponent("expected.json"))
        return try! JSONDecoder().decode(IOFixtures.self, from: data)
    }()

    static func url(_ name: String) -> URL { directory.appendingPathComponent(name) }
}

/// A stable name for each `SafeTensorsError.Reason` case, as the fixture script spells it.
func reasonCode(_ r: SafeTensorsError.Reason) -> String {
    switch r {
    case .fileTooSmall: "fileTooSmall"
    case .headerTooLarge: "headerTooLarge"
    case .headerLengthExceedsFile: "headerLengthExceedsFile"
    case .invalidJSON: "invalidJSON"
    case .headerNotObject: "headerNotObject"
    case .duplicateKey: "duplicateKey"
    case .invalidMetadata: "invalidMetadata"
    case .invalidEntry: "invalidEntry"
    case .unknownDType: "unknownDType"
    case .unsupportedDType: "unsupportedDType"
    case .sizeMismatch: "sizeMismatch"
    case .offsetsOutOfBounds: "offsetsOutOfBounds"
    case .overlap: "overlap"
    case .gap: "gap"
    case .trailingBytes: "trailingBytes"
    case .invalidTensorName: "invalidTensorName"
    case .unreadable: "unreadable"
    case .writeFailed: "writeFailed"
    case .budgetExceeded: "budgetExceeded"
    }
}

/// Whether two doubles are the same value bit for bit, or both NaN.
func sameValue(_ a: Double, _ b: Double) -> Bool {
    (a.isNaN && b.isNaN) || a.bitPattern == b.bitPattern
}

/// A fresh empty directory under the system temporary directory, removed by the caller.
func makeScratchDirectory() -> URL {
    let url = FileManager.default.temporaryDirectory
        .appendingPathComponent("slkd-io-\(UUID().uuidString)", isDirectory: true)
    try! FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

func directoryListing(_ url: URL) -> [String] {
    ((try? FileManager.default.contentsOfDirectory(atPath: url.path)) ?? []).sorted()
}
