import ArgumentParser
import Foundation
import SLKDTensor

/// `--max-memory`: the most memory a command may spend on what it reads from files.
///
/// One value, passed to every reader a command uses:
///
/// - **weights and checkpoints** (`--weights`, `convert`'s input, `path.pretrain_network_*`,
///   `--resume`): it is the `maximumBytes` of the file's ``ReadBudget`` — the tensor bytes the
///   file may produce — in place of the limit derived from the file's size (16 × the file, at
///   least 256 MiB);
/// - **images** (`restore`, `eval`, `iqa`): an image is refused from its header when its pixels
///   times the command's bytes per pixel pass the budget (and `--max-pixels` still applies).
///
/// Without the option, each reader keeps its own default limit.
struct MemoryBudget: ParsableArguments {
    @Option(name: .customLong("max-memory"), parsing: .unconditional,
            help: ArgumentHelp("The most memory to spend on what is read from files: tensor bytes of weights and checkpoints, and images' pixels at the command's bytes per pixel (bytes, or with a K, M, G or T suffix in powers of 1024, e.g. 512M, 2G; default: each file's own limit).",
                               valueName: "bytes"),
            transform: MemoryBudget.parseByteCount)
    var maxMemory: Int?

    /// The `maximumBytes` of every weights and checkpoint reader (nil: their own limits).
    var maximumBytes: Int? { maxMemory }

    /// Multipliers of the suffixes, in powers of 1024; an optional trailing `B` (or `iB`) is allowed.
    static let units: [Character: Int] = ["K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40]

    /// A positive byte count: `1048576`, `512M`, `2G`, `1TiB` (K, M, G, T are powers of 1024).
    ///
    /// - Throws: a ``ToolError`` that says what is wrong with the text; ArgumentParser prints it
    ///   after "The value '12Q' is invalid for '--max-memory <bytes>'".
    static func parseByteCount(_ text: String) throws -> Int {
        let usage = "give a positive number of bytes, optionally with K, M, G or T (powers of 1024), e.g. 512M or 2G"
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        let digits = trimmed.prefix { $0.isASCII && $0.isNumber }
        var suffix = trimmed.dropFirst(digits.count).uppercased()
        guard !digits.isEmpty else {
            throw ToolError(trimmed.hasPrefix("-") ? "a memory budget must be positive; \(usage)" : usage)
        }
        if suffix.hasSuffix("IB") { suffix.removeLast(2) } else if suffix.hasSuffix("B") { suffix.removeLast() }
        let multiplier: Int
        switch suffix.count {
        case 0: multiplier = 1
        case 1:
            guard let unit = units[suffix.first!] else { throw ToolError("unknown unit '\(suffix)'; \(usage)") }
            multiplier = unit
        default: throw ToolError("unknown unit '\(trimmed.dropFirst(digits.count))'; \(usage)")
        }
        guard let value = Int(digits) else { throw ToolError("\(digits) is too large; \(usage)") }
        let (bytes, overflow) = value.multipliedReportingOverflow(by: multiplier)
        guard !overflow else { throw ToolError("\(trimmed) is more than \(Int.max) bytes") }
        guard bytes > 0 else { throw ToolError("a memory budget must be positive; \(usage)") }
        return bytes
    }

    /// The pixel limit of an image command that needs `bytesPerPixel` bytes a pixel: `--max-pixels`,
    /// lowered to what `--max-memory` allows.
    func maximumPixels(_ pixels: PixelBudget, bytesPerPixel: Int) -> Int {
        guard let maxMemory else { return pixels.maxPixels }
        return Swift.max(1, Swift.min(pixels.maxPixels, maxMemory / Swift.max(bytesPerPixel, 1)))
    }

    /// The error to report for a decoding `error`: an image refused because `--max-memory`
    /// lowered the pixel limit gets the budget named in its one-line message; others are as they are.
    func refusal(_ error: ImageIOError, _ pixels: PixelBudget, bytesPerPixel: Int) -> any Error {
        guard case .imageTooLarge = error.reason, let maxMemory,
              maximumPixels(pixels, bytesPerPixel: bytesPerPixel) < pixels.maxPixels else { return error }
        return ToolError("\(error) (--max-memory \(maxMemory) bytes at \(bytesPerPixel) bytes a pixel)")
    }

    /// Runs `body`, a decode under ``maximumPixels(_:bytesPerPixel:)``, reporting a refused image
    /// as ``refusal(_:_:bytesPerPixel:)`` does.
    func decoding<R>(_ pixels: PixelBudget, bytesPerPixel: Int, _ body: () throws(ImageIOError) -> R) throws -> R {
        do { return try body() } catch { throw refusal(error, pixels, bytesPerPixel: bytesPerPixel) }
    }
}
