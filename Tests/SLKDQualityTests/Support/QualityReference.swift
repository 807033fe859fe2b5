import Foundation
import Testing
import SLKDQuality
import SLKDTestSupport

/// The quality reference vectors and images (`quality/` of the reference folder, or
/// $SLKD_QUALITY_REFERENCE), read once.
enum QualityReference {
    static let directory: String = ProcessInfo.processInfo.environment["SLKD_QUALITY_REFERENCE"]
        ?? SharedReference.url("quality").path

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

    /// A reference PNG (8-bit) as a planar image on the 0–255 scale, pixel values unchanged.
    static func image(_ file: String) throws -> QualityImage {
        let url = URL(fileURLWithPath: directory).appendingPathComponent(file.hasSuffix(".png") ? file : file + ".png")
        let png = try ImageIO.readPNG(at: url, channels: .stored, dtype: .float64)
        try #require(png.info.bitDepth == 8, "reference images are 8-bit")
        let pixels = png.pixels.doubles.map { ($0 * 255).rounded() }
        let shape = png.pixels.shape
        return try QualityImage(width: shape[2], height: shape[1], channels: shape[0], pixels: pixels)
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
