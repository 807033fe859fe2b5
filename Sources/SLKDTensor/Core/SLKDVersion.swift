/// The version of the SLKD package: the one place it is written, so that `slkd --version`,
/// `slkd-bench --version` and the release tag cannot disagree.
public enum SLKDVersion {
    /// Semantic version of this source tree; the release tag carries the same string.
    public static let current = "0.1.0"
}
