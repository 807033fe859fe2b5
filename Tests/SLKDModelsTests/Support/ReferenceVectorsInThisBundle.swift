import Foundation
// Re-exported for every file of this test target: the shared reference-vector helpers.
@_exported import SLKDTestSupport

/// Loads `Vectors/<file>.json` of this test target's bundle.
func loadReferenceCases(_ file: String) throws -> [ReferenceCase] {
    try loadReferenceCases(file, bundle: .module)
}
