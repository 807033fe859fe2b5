import Foundation
import Testing
import SLKDTensor

/// OpenBLAS's kernel set, checked against the CPU when SLKDTensor loads (`BLASKernels`).
@Suite("OpenBLAS kernels")
struct BLASKernelsTests {
    struct Rule: Sendable, CustomTestStringConvertible {
        var current: String
        var widest: SIMDPath
        var requested: String?
        var replacement: String?
        var testDescription: String { "\(current) on \(widest), OPENBLAS_CORETYPE=\(requested ?? "unset")" }
    }

    /// Narrow sets (no AVX2, no FMA) are replaced by the widest OpenBLAS set the CPU runs; sets
    /// with AVX2, names not known to be narrow, CPUs without AVX2 and a user's own
    /// OPENBLAS_CORETYPE are left alone.
    static let rules: [Rule] = [
        Rule(current: "Prescott", widest: .avx512, requested: nil, replacement: "SkylakeX"),
        Rule(current: "Prescott", widest: .avx2, requested: nil, replacement: "Haswell"),
        Rule(current: "Prescott", widest: .baseline, requested: nil, replacement: nil),
        Rule(current: "Prescott", widest: .avx512, requested: "", replacement: "SkylakeX"),
        Rule(current: "Prescott", widest: .avx512, requested: "Prescott", replacement: nil),
        Rule(current: "Nehalem", widest: .avx512, requested: nil, replacement: "SkylakeX"),
        Rule(current: "Sandybridge", widest: .avx2, requested: nil, replacement: "Haswell"),
        Rule(current: "Opteron(SSE3)", widest: .avx2, requested: nil, replacement: "Haswell"),
        Rule(current: "Steamroller", widest: .avx2, requested: nil, replacement: "Haswell"),
        Rule(current: "Haswell", widest: .avx512, requested: nil, replacement: nil),
        Rule(current: "Zen", widest: .avx512, requested: nil, replacement: nil),
        Rule(current: "Excavator", widest: .avx2, requested: nil, replacement: nil),
        Rule(current: "SkylakeX", widest: .avx512, requested: nil, replacement: nil),
        Rule(current: "Cooperlake", widest: .avx512, requested: nil, replacement: nil),
        Rule(current: "Unknown", widest: .avx512, requested: nil, replacement: nil),
        Rule(current: "prescott", widest: .avx512, requested: nil, replacement: nil),
    ]

    @Test("the replacement rule", arguments: rules)
    func replacementRule(_ rule: Rule) {
        #expect(BLASKernels.replacement(for: rule.current, widest: rule.widest, requested: rule.requested)
                == rule.replacement)
    }

    /// The set running in this process is one the rule keeps, unless the environment chose it.
    /// Before the check existed, Debian 12's OpenBLAS ran "Prescott" on a Xeon with AVX-512.
    @Test func runningSetIsAsWideAsTheCPU() throws {
        let coreName = try #require(BLASKernels.coreName, "SLKD links OpenBLAS")
        let requested = ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"]
        if requested?.isEmpty == false {
            #expect(BLASKernels.replacedCoreName == nil, "OPENBLAS_CORETYPE=\(requested!) is the user's choice")
            return
        }
        #expect(BLASKernels.replacement(for: coreName, widest: SIMDPath.widestSupported, requested: nil) == nil,
                "OpenBLAS runs \(coreName) on a CPU with \(SIMDPath.widestSupported)")
        if let replaced = BLASKernels.replacedCoreName {
            #expect(BLASKernels.replacement(for: replaced, widest: SIMDPath.widestSupported, requested: nil) != nil)
            #expect(BLASKernels.summary == "\(coreName) (OpenBLAS chose \(replaced))")
        } else {
            #expect(BLASKernels.summary == coreName)
        }
    }
}
