import CSLKDKernels

/// The instruction set SLKDTensor's element-wise float32 math runs on.
///
/// exp, sigmoid, tanh, GELU, the GELU backward (also fused with its row sums, in the channel-major
/// Linear + GELU backward) and sums of contiguous runs are C kernels
/// (`CSLKDKernels`) compiled once per path; the widest path the CPU has is chosen on first use.
/// The environment variable `SLKD_SIMD=baseline|avx2|avx512` forces a path; a name that is none
/// of these, or a path the CPU lacks, falls back to the widest the CPU has with one warning on
/// standard error.
///
/// Every path returns the same bits (the kernels use no fused multiply-adds and never reorder
/// arithmetic), so the choice changes speed only. GELU and its backward equal the Swift scalar
/// forms; exp and tanh are within 1 ulp and sigmoid within 2.5 ulp of the exact values (exp equals
/// glibc's `expf` outside −87 ≤ x ≤ 88). Float64 math stays in Swift.
public enum SIMDPath: Int, Sendable, CaseIterable, Comparable, CustomStringConvertible {
    /// SSE2, which every x86-64 CPU has.
    case baseline = 0
    /// AVX2 with FMA.
    case avx2 = 1
    /// AVX-512 F, BW, VL and DQ.
    case avx512 = 2

    /// The path the kernels run on now.
    public static var active: SIMDPath { SIMDPath(slkd_simd_active()) }

    /// The widest path this CPU runs.
    public static var widestSupported: SIMDPath { SIMDPath(slkd_simd_best_supported()) }

    /// Every path this CPU runs, baseline first.
    public static var supported: [SIMDPath] { allCases.filter { $0 <= widestSupported } }

    /// The `SLKD_SIMD` spelling: `baseline`, `avx2` or `avx512`.
    public var description: String {
        switch self {
        case .baseline: "baseline"
        case .avx2: "avx2"
        case .avx512: "avx512"
        }
    }

    public static func < (a: SIMDPath, b: SIMDPath) -> Bool { a.rawValue < b.rawValue }

    init(_ path: SLKDSIMDPath) {
        switch path {
        case .baseline: self = .baseline
        case .AVX2: self = .avx2
        case .AVX512: self = .avx512
        }
    }

    var cValue: SLKDSIMDPath {
        switch self {
        case .baseline: .baseline
        case .avx2: .AVX2
        case .avx512: .AVX512
        }
    }
}

extension SIMDPath {
    /// How a `SLKD_SIMD` value was honoured.
    package enum Request: Equatable, Sendable {
        /// Unset or empty: the widest path.
        case none
        /// The path asked for.
        case granted
        /// Not a path's name: the widest path, with a warning.
        case unknown
        /// Wider than the CPU runs: the widest path, with a warning.
        case unsupported
    }

    /// The path for a `SLKD_SIMD` value on a CPU whose widest path is `widest` (the rule start-up
    /// applies; a pure function).
    package static func resolve(_ requested: String?, widest: SIMDPath) -> (path: SIMDPath, request: Request) {
        var outcome = SLKDSIMDRequest.none
        let path = SIMDPath(slkd_simd_resolve(requested, widest.cValue, &outcome))
        let request: Request = switch outcome {
        case .none: .none
        case .granted: .granted
        case .unknown: .unknown
        case .unsupported: .unsupported
        }
        return (path, request)
    }

    /// Runs `body` with every kernel on `path`, then restores the previous path. The switch is
    /// process-wide; since all paths return the same bits, other threads' results do not change.
    /// `path` must be in ``supported``.
    package static func withPath<R>(_ path: SIMDPath, _ body: () throws -> R) rethrows -> R {
        precondition(path <= widestSupported, "this CPU does not run the \(path) path")
        let previous = active
        slkd_simd_use(path.cValue)
        defer { slkd_simd_use(previous.cValue) }
        return try body()
    }
}
