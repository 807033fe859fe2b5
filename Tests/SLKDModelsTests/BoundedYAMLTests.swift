import Foundation
import Testing
import SLKDModels

/// Hostile YAML: deep nesting, alias bombs, oversized text and duplicate keys end in one
/// ``OptionsFileError`` each, quickly and without the memory Yams alone would take.
@Suite("Bounded YAML")
struct BoundedYAMLTests {
    func error(_ text: String, limits: BoundedYAML.Limits = .options) -> OptionsFileError? {
        do { _ = try BoundedYAML.load(text, file: "hostile.yml", limits: limits); return nil } catch { return error }
    }

    @Test func tenThousandFlowLevelsAreRefusedBeforeParsing() {
        // Yams alone overflows the stack (SIGSEGV) on this.
        let text = "a: " + String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)
        let e = error(text)
        #expect(e?.message == "line 1: nesting deeper than 64 levels")
        #expect(e?.description.hasPrefix("hostile.yml: ") == true)
    }

    @Test func deepBlockNestingIsRefused() {
        // Compact sequences nest without indentation: "- - - - x".
        let compact = String(repeating: "- ", count: 5_000) + "x"
        #expect(error(compact)?.message == "line 1: nesting deeper than 64 levels")
        // Indented mappings, one level per line.
        let indented = (0..<100).map { String(repeating: " ", count: $0) + "k\($0):" }.joined(separator: "\n") + " v"
        #expect(error(indented)?.message.hasSuffix("nesting deeper than 64 levels") == true)
    }

    @Test func billionLaughsIsRefusedQuicklyWithinTheNodeBudget() {
        // 10 levels of 10 aliases each: 10^10 nodes once expanded, in about 1.7 KB of text.
        var lines = ["a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
        for i in 1...9 {
            let refs = Array(repeating: "*a\(i - 1)", count: 10).joined(separator: ", ")
            lines.append("a\(i): &a\(i) [\(refs)]")
        }
        let text = lines.joined(separator: "\n")
        #expect(text.utf8.count < 2_000)
        let clock = ContinuousClock()
        let started = clock.now
        let e = error(text)
        #expect(e?.message == "expands to more than 100000 YAML nodes (aliases are counted at every use)")
        #expect(clock.now - started < .seconds(5))
    }

    @Test func oversizedTextIsRefusedBeforeParsing() {
        let text = "a: " + String(repeating: "x", count: 2_000)
        let limits = BoundedYAML.Limits(maximumBytes: 1_000)
        #expect(error(text, limits: limits)?.message == "2003 bytes is over the 1000-byte limit for YAML files")
    }

    @Test func duplicateKeysAreErrorsNamingTheDottedKey() {
        #expect(error("name: a\nseed: 1\nname: b\n")?.message == "duplicate key 'name'")
        #expect(error("network_g:\n  dim: 48\n  heads: [1]\n  dim: 24\n")?.message == "duplicate key 'network_g.dim'")
        #expect(error("a: [{x: 1, x: 2}]")?.message == "duplicate key 'a[0].x'")
    }

    @Test func ordinaryOptionsParseAsYamsParsesThem() throws {
        let text = """
            # a comment with [brackets and : colons
            name: run   # trailing
            base: &base {lr: !!float 3e-4, betas: [0.9, 0.999]}
            optim: {<<: *base, lr: 1.0e-3}
            text: |
              [[[[ not nesting ]]]] - - - :
            quoted: "a: [b"
            list:
              - type: L1
                weight: 1
              - ~
            """
        let value = try #require(try BoundedYAML.load(text, file: "ok.yml") as? [String: Any])
        #expect(value["name"] as? String == "run")
        let optim = try #require(value["optim"] as? [String: Any])
        #expect(optim["lr"] as? Double == 1e-3)
        #expect(optim["betas"] as? [Double] == [0.9, 0.999])
        #expect(value["text"] as? String == "[[[[ not nesting ]]]] - - - :\n")
        #expect(value["quoted"] as? String == "a: [b")
        let list = try #require(value["list"] as? [Any])
        #expect((list[0] as? [String: Any])?["weight"] as? Int == 1)
        #expect(list[1] is NSNull)
    }

    @Test func aFolderOrMissingFileIsOneLineNamingThePath() throws {
        let folder = FileManager.default.temporaryDirectory
        do { _ = try BoundedYAML.load(contentsOf: folder); Issue.record("a folder was read") } catch {
            #expect(error.description == "\(folder.path): is a folder, not a file")
        }
        let missing = folder.appendingPathComponent("slkd-absent-\(UUID().uuidString).yml")
        do { _ = try BoundedYAML.load(contentsOf: missing); Issue.record("a missing file was read") } catch {
            #expect(error.description == "\(missing.path): does not exist")
        }
    }
}
