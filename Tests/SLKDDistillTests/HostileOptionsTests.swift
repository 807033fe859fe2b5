import Foundation
import SLKDDistill
import Testing

/// Option values that used to trap, divide by zero or abort in malloc are ``OptionsError``s
/// naming the dotted key and the allowed range; hostile YAML is refused before it is expanded.
@Suite("Hostile options files")
struct HostileOptionsTests {
    /// The official deraining options with `old` replaced by `new` (which must occur).
    func message(replacing old: String, with new: String) throws -> String? {
        let base = TrainingOptionsTests.officialDeraining
        try #require(base.contains(old), "fixture lacks '\(old)'")
        let text = base.replacingOccurrences(of: old, with: new)
        do {
            _ = try TrainingOptions(yaml: text, baseFolder: URL(fileURLWithPath: "/data"), file: "hostile.yml")
            return nil
        } catch {
            return error.description
        }
    }

    @Test func theOfficialFileStillLoads() throws {
        #expect(try message(replacing: "manual_seed: 100", with: "manual_seed: 100") == nil)
    }

    @Test func seedsAndFrequencies() throws {
        #expect(try message(replacing: "manual_seed: 100", with: "manual_seed: -1")
                == "hostile.yml: 'manual_seed' must be in 0...9223372036854775807, got -1")
        #expect(try message(replacing: "save_checkpoint_freq: !!float 4e3", with: "save_checkpoint_freq: 0")
                == "hostile.yml: 'logger.save_checkpoint_freq' must be in 1...1000000000, got 0")
        #expect(try message(replacing: "val_freq: !!float 4e3", with: "val_freq: !!float 4.5")
                == "hostile.yml: 'val.val_freq' should be an integer, got '4.5'")
        #expect(try message(replacing: "total_iter: 300000", with: "total_iter: 0")
                == "hostile.yml: 'train.total_iter' must be in 1...1000000000, got 0")
    }

    @Test func schedulerPeriods() throws {
        #expect(try message(replacing: "periods: [92000, 208000]", with: "periods: [.nan, 208000]")
                == "hostile.yml: 'train.scheduler.periods[0]' should be a finite number, got 'nan'")
        #expect(try message(replacing: "periods: [92000, 208000]", with: "periods: [1e300, 208000]")
                == "hostile.yml: 'train.scheduler.periods[0]' must be in 1...1000000000, got 1e+300")
        #expect(try message(replacing: "eta_mins: [0.0003,0.000001]", with: "eta_mins: [.inf,0.000001]")
                == "hostile.yml: 'train.scheduler.eta_mins[0]' should be a finite number, got 'inf'")
    }

    @Test func optimizerValues() throws {
        #expect(try message(replacing: "lr: !!float 3e-4", with: "lr: .nan")
                == "hostile.yml: 'train.optim_g.lr' should be a finite number, got 'nan'")
        #expect(try message(replacing: "betas: [0.9, 0.999]", with: "betas: [0.9, 1.0]")
                == "hostile.yml: 'train.optim_g.betas[1]' must be in 0.0...0.999999999, got 1.0")
    }

    @Test func absurdSizes() throws {
        #expect(try message(replacing: "gt_size: 384", with: "gt_size: 100000")
                == "hostile.yml: 'datasets.train.gt_size' must be in 1...4096, got 100000")
        #expect(try message(replacing: "batch_size_per_gpu: 8", with: "batch_size_per_gpu: 1e9")
                == "hostile.yml: 'datasets.train.batch_size_per_gpu' must be in 1...1024, got 1000000000")
        #expect(try message(replacing: "dim: 48", with: "dim: 1e6")
                == "hostile.yml: network_g.dim must be in 1...1024, got 1000000")
        // Each value in range, the product not: 1024 × 4096² × 48 channels.
        let product = TrainingOptionsTests.officialDeraining.replacingOccurrences(of: "batch_size_per_gpu: 8", with: "batch_size_per_gpu: 1024")
            .replacingOccurrences(of: "gt_size: 384", with: "gt_size: 4096")
        do {
            _ = try TrainingOptions(yaml: product, baseFolder: URL(fileURLWithPath: "/data"), file: "hostile.yml")
            Issue.record("an absurd activation size was accepted")
        } catch {
            #expect(error.description == "hostile.yml: 'datasets.train': batch 1024 × patch 4096² × width 48 needs about "
                    + "196608 GiB of activations per step, over the 64 GiB limit")
        }
    }

    @Test func networkValuesNameTheirKey() throws {
        #expect(try message(replacing: "dim: 48", with: "dim: 4611686018427387904")
                == "hostile.yml: network_g.dim must be in 1...1024, got 4611686018427387904")
        #expect(try message(replacing: "ffn_expansion_factor: 2.66", with: "ffn_expansion_factor: .inf")
                == "hostile.yml: 'network_g.ffn_expansion_factor' must be a finite number, got inf")
        #expect(try message(replacing: "heads: [1,2,4,8]", with: "heads: [1,0,4,8]")
                == "hostile.yml: network_g.heads[1] must be in 1...1024, got 0")
    }

    @Test func duplicateKeysAndBombs() throws {
        #expect(try message(replacing: "manual_seed: 100", with: "manual_seed: 100\nmanual_seed: 7")
                == "hostile.yml: duplicate key 'manual_seed'")
        #expect(try message(replacing: "dim: 48", with: "dim: 48\n  dim: 24") == "hostile.yml: duplicate key 'network_g.dim'")
        var bomb = ["l0: &l0 [x, x, x, x, x, x, x, x, x, x]"]
        for i in 1...9 { bomb.append("l\(i): &l\(i) [" + Array(repeating: "*l\(i - 1)", count: 10).joined(separator: ", ") + "]") }
        #expect(try message(replacing: "# general settings", with: bomb.joined(separator: "\n"))
                == "hostile.yml: expands to more than 100000 YAML nodes (aliases are counted at every use)")
        #expect(try message(replacing: "# general settings", with: "deep: " + String(repeating: "[", count: 10_000)) == "hostile.yml: line 1: nesting deeper than 64 levels")
    }

    @Test func unreadableFilesAreOneLine() throws {
        let folder = FileManager.default.temporaryDirectory
        #expect(throws: OptionsError(file: folder.path, "is a folder, not a file")) {
            try TrainingOptions.load(contentsOf: folder)
        }
    }
}
