import Foundation

// TEMPORARY A/B switch (removed before the final commit).
enum FusionSwitch {
    static let enabled: Set<String> = {
        let raw = ProcessInfo.processInfo.environment["SLKD_UFORMER_FUSE"] ?? "linear,gelu,attn,perm,mdta"
        return Set(raw.split(separator: ",").map(String.init))
    }()
    static var linear: Bool { enabled.contains("linear") }
    static var gelu: Bool { enabled.contains("gelu") }
    static var attn: Bool { enabled.contains("attn") }
    static var perm: Bool { enabled.contains("perm") }
    static var mdta: Bool { enabled.contains("mdta") }
}
