import Foundation
import Testing
import SLKDQuality

/// The quality reference vectors in /work/shared/reference/quality (or $SLKD_QUALITY_REFERENCE),
/// read once; tests that need them are disabled when the folder is absent.
enum QualityReference {
    static let directory: String = ProcessInfo.processInfo.environment["SLKD_QUALITY_REFERENCE"]
        ?? "/work/shared/reference/quality"

    static var isAvailable: Bool {
        FileManager.default.fileExists(atPath: directory + "/reference.json")
    }

    static let skipMessage: Comment = "quality reference vectors not found (set SLKD_QUALITY_REFERENCE or provide /work/shared/reference/quality)"

    /// The 12 test images of reference.json.
    static let imageNames = ["camera", "astronaut", "coffee"].flatMap { base in
        ["clean", "noise15", "blur2", "jpeg10"].map { "\(base)_\($0)" }
    }

    nonisolated(unsafe) private static var cache: [String: [String: Any]] = [:]
    private static let lock = NSLock()

    /// A top-level JSON file of the reference folder.
    static func json(_ file: String) throws -> [String: Any] {
        lock.lock()
        defer { lock.unlock() }
        if let cached = cache[file] { return cached }
        let data = try Data(contentsOf: URL(fileURLWithPath: directory + "/" + file))
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        cache[file] = object
        return object
    }

    /// The reference entry of one image.
    static func entry(_ name: String) throws -> [String: Any] {
        let images = try #require(try json("reference.json")["images"] as? [String: Any])
        return try #require(images[name] as? [String: Any], "no image \(name) in reference.json")
    }

    /// The committed netpbm copy of a reference PNG (Tests/SLKDQualityTests/Vectors/images).
    static func image(_ file: String) throws -> QualityImage {
        let stem = file.hasSuffix(".png") ? String(file.dropLast(4)) : file
        let base = try #require(Bundle.module.resourceURL).appendingPathComponent("Vectors/images")
        let url = [".pgm", ".ppm"].map { base.appendingPathComponent(stem + $0) }
            .first { FileManager.default.fileExists(atPath: $0.path) }
        return try readNetpbm(Data(contentsOf: try #require(url, "no committed image for \(file)")))
    }

    /// Binary PGM (P5) / PPM (P6), maxval 255, into a planar image.
    static func readNetpbm(_ data: Data) throws -> QualityImage {
        let bytes = [UInt8](data)
        var position = 0
        func token() -> String {
            while position < bytes.count, bytes[position] == 0x20 || bytes[position] == 0x0A || bytes[position] == 0x0D
                || bytes[position] == 0x09 { position += 1 }
            var s = ""
            while position < bytes.count, !(bytes[position] == 0x20 || bytes[position] == 0x0A || bytes[position] == 0x0D
                || bytes[position] == 0x09) { s.append(Character(UnicodeScalar(bytes[position]))); position += 1 }
            return s
        }
        let magic = token()
        let channels = magic == "P5" ? 1 : magic == "P6" ? 3 : 0
        try #require(channels > 0, "not a binary PGM/PPM: \(magic)")
        let width = try #require(Int(token())), height = try #require(Int(token())), maxval = try #require(Int(token()))
        try #require(maxval == 255)
        position += 1
        let n = width * height
        try #require(bytes.count - position == n * channels)
        var planar = [Double](repeating: 0, count: n * channels)
        for i in 0..<n { for c in 0..<channels { planar[c * n + i] = Double(bytes[position + i * channels + c]) } }
        return try QualityImage(width: width, height: height, channels: channels, pixels: planar)
    }
}

/// |a − b| ≤ atol + rtol·|b|, with a message naming the value.
func expectClose(_ a: Double, _ b: Double, rtol: Double = 0, atol: Double = 0, _ what: String,
                 sourceLocation: SourceLocation = #_sourceLocation) {
    let ok = abs(a - b) <= atol + rtol * abs(b)
    #expect(ok, "\(what): got \(a), expected \(b) (diff \(a - b))", sourceLocation: sourceLocation)
}

extension Dictionary where Key == String, Value == Any {
    func double(_ key: String) throws -> Double {
        try #require((self[key] as? NSNumber)?.doubleValue, "missing number \(key)")
    }
    func doubles(_ key: String) throws -> [Double] {
        try #require((self[key] as? [Any])?.map { ($0 as? NSNumber)?.doubleValue ?? .nan }, "missing array \(key)")
    }
    func dict(_ key: String) throws -> [String: Any] {
        try #require(self[key] as? [String: Any], "missing object \(key)")
    }
}
