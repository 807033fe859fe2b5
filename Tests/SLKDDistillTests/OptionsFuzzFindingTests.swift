import Foundation
import Testing
import SLKDDistill

/// Inputs the options fuzzer (Fuzz/Sources/FuzzOptions) crashed on, kept as files under
/// Vectors/fuzz/options, one or two per distinct crash site. Each must end in an
/// ``OptionsError`` naming the file.
///
/// - Yams' `load(yaml:)` force-unwraps every mapping key as a string, so a key that is a sequence
///   or a mapping (`{[1]: 2}`, or `? typeA:` in block style) traps inside Yams
///   (Constructor.swift:426).
/// - Yams reads `8888888888888888882:1` as a base-60 integer and overflows (Constructor.swift:590).
/// - `manual_seed: -100` traps converting to an unsigned seed (TrainingOptions.swift:106).
/// - A non-finite scheduler period traps in `Int(_:)` (OptionsReader.swift:106).
///
/// The options reader refuses all of these itself: BoundedYAML walks Yams' node tree before
/// constructing values (non-string keys, base-60 overflow), and every number is ranged.
@Suite("Options: fuzzer findings")
struct OptionsFuzzFindingTests {
    static let folder = Bundle.module.resourceURL!.appendingPathComponent("Vectors/fuzz/options")
    static let findings = [
        "sequence_as_key.yml", "crash-b10fa68caa70739ccb8ca0749f42b8756dc5a795",
        "sexagesimal_overflow.yml", "yams_sexagesimal_overflow-crash-eefc51bd55fc7b9ff1a7578ef4971b887fdc44a6",
        "manual_seed_negative-crash-95223825dc772e351b8a721e5757fd1b70cdd877",
        "periods_not_finite-crash-27d1697687128e7dd8eca6e54f0bf0bdf6a1f3e8",
        // Eleven small base-60 parts: Yams' base (60^11) overflows though the value would fit.
        "sexagesimal_eleven_parts-crash-d519ef555f0030153f5e1bf1ea5890d085907602",
    ]

    @Test(arguments: findings)
    func findingIsATypedError(name: String) throws {
        let url = Self.folder.appendingPathComponent(name)
        #expect(FileManager.default.fileExists(atPath: url.path))
        do {
            _ = try TrainingOptions.load(contentsOf: url)
            Issue.record("\(name) was accepted")
        } catch {
            #expect(error.file == url.path)
        }
    }
}
