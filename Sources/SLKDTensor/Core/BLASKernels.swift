import CSLKDKernels

/// Which of OpenBLAS's kernel sets SLKD's matrix products run on.
///
/// OpenBLAS chooses its kernels when it loads, from the CPU's family and model. A release older
/// than the CPU does not know the model and falls back to its SSE3 "Prescott" kernels, at a
/// quarter of the speed of the AVX-512 ones (Debian 12's 0.3.21 on a 5th-generation Xeon). When a
/// program that links SLKDTensor loads, SLKD checks that choice against the CPU: a set that uses
/// neither AVX2 nor FMA, on a CPU that has them, is replaced by "SkylakeX" (AVX-512 F, BW, VL, DQ)
/// or "Haswell" (AVX2 with FMA), as `OPENBLAS_CORETYPE` would have chosen. Setting
/// `OPENBLAS_CORETYPE` yourself keeps OpenBLAS's reading of it; an OpenBLAS built for one CPU
/// (without `DYNAMIC_ARCH`) is not touched.
public enum BLASKernels {
    /// OpenBLAS's name for the kernel set it runs ("SkylakeX", "Haswell", "Zen", …), or nil when the
    /// BLAS library is not OpenBLAS.
    public static var coreName: String? { slkd_openblas_core().map { String(cString: $0) } }

    /// The kernel set OpenBLAS had chosen itself when SLKD replaced it at load, or nil when it kept
    /// OpenBLAS's choice.
    public static var replacedCoreName: String? { slkd_openblas_replaced_core().map { String(cString: $0) } }

    /// The set SLKD asks for instead of `current` on a CPU whose widest path is `widest`, or nil to
    /// keep `current`; `requested` is the `OPENBLAS_CORETYPE` value (nil when unset). The rule
    /// applied at load, for tests and tools.
    public static func replacement(for current: String, widest: SIMDPath, requested: String?) -> String? {
        let result: UnsafePointer<CChar>? = current.withCString { current in
            guard let requested else { return slkd_openblas_core_replacement(current, widest.cValue, nil) }
            return requested.withCString { slkd_openblas_core_replacement(current, widest.cValue, $0) }
        }
        return result.map { String(cString: $0) }
    }

    /// One line for logs and benchmark headers: "SkylakeX", or "SkylakeX (OpenBLAS chose Prescott)".
    public static var summary: String {
        guard let coreName else { return "not OpenBLAS" }
        return replacedCoreName.map { "\(coreName) (OpenBLAS chose \($0))" } ?? coreName
    }
}
