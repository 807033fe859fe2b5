import Foundation
import Testing
import SLKDModels

/// `network_g` values that used to trap, overflow or abort in malloc are errors naming the dotted
/// key and the allowed range, before anything is built.
@Suite("Network configurations from options are validated")
struct ConfigurationValidationTests {
    static var restormer: [String: Any] { [
        "type": "Restormer", "dim": 8, "num_blocks": [1, 1, 1, 1], "num_refinement_blocks": 1,
        "heads": [1, 1, 2, 2], "ffn_expansion_factor": 2.0,
    ] }
    static var drsformer: [String: Any] { [
        "type": "DRSformer", "dim": 8, "num_blocks": [1, 1, 1, 1], "heads": [1, 2, 4, 4], "mefc_steps": 1,
    ] }

    func message(_ base: [String: Any], _ changes: [String: Any], section: String = "network_g") -> String? {
        var network = base
        for (k, v) in changes { network[k] = v }
        do { _ = try NetworkOptions.validate(network: network, section: section); return nil } catch { return error.description }
    }

    @Test func validDescriptionsPass() throws {
        #expect(message(Self.restormer, [:]) == nil)
        #expect(message(Self.drsformer, [:]) == nil)
        let c = try NetworkOptions.validate(network: Self.restormer)
        #expect(c.width == 8)
    }

    @Test func hugeAndAbsurdWidthsAreRangeErrors() {
        #expect(message(Self.restormer, ["dim": 1 << 62]) == "network_g.dim must be in 1...1024, got 4611686018427387904")
        #expect(message(Self.restormer, ["dim": 1e6]) == "network_g.dim must be in 1...1024, got 1000000")
        #expect(message(Self.drsformer, ["dim": 1 << 62]) == "network_g.dim must be in 1...1024, got 4611686018427387904")
    }

    @Test func nonFiniteNumbersAreRefusedForEveryKey() {
        #expect(message(Self.restormer, ["ffn_expansion_factor": Double.infinity])
                == "'network_g.ffn_expansion_factor' must be a finite number, got inf")
        #expect(message(Self.drsformer, ["ffn_expansion_factor": Double.nan])
                == "'network_g.ffn_expansion_factor' must be a finite number, got nan")
    }

    @Test func drsformerHeadsBlocksAndChannels() {
        #expect(message(Self.drsformer, ["heads": [1, 0, 4, 4]]) == "network_g.heads[1] must be in 1...1024, got 0")
        #expect(message(Self.drsformer, ["num_blocks": [1, -2, 1, 1]]) == "network_g.num_blocks[1] must be in 0...64, got -2")
        #expect(message(Self.drsformer, ["inp_channels": 0]) == "network_g.inp_channels must be in 1...64, got 0")
        #expect(message(Self.drsformer, ["heads": [1, 2, 3, 4]])
                == "network_g.heads[2]: level 3's 32 channels do not split into 3 heads")
        // Top-k attention keeps int(c/2) of a head's c channels: one channel per head keeps none.
        #expect(message(Self.drsformer, ["heads": [8, 2, 4, 4]])
                == "network_g.heads[0]: level 1's 8 channels leave under 2 per head for 8 heads")
    }

    @Test func nonIntegralValuesWhereIntegersAreExpected() {
        let m = message(Self.restormer, ["dim": 8.5])
        #expect(m?.hasPrefix("'network_g.dim' should be an integer") == true, "\(m ?? "nil")")
    }

    @Test func theParameterCountIsBounded() {
        let m = message(Self.restormer, ["dim": 1024, "num_blocks": [64, 64, 64, 64], "heads": [1, 1, 1, 1]])
        #expect(m?.hasPrefix("network_g.the network would have about ") == true, "\(m ?? "nil")")
        #expect(m?.hasSuffix("parameters, over the limit of 200000000") == true)
    }

    @Test func uformerRangesAndTheSectionName() {
        let uformer: [String: Any] = ["type": "Uformer", "embed_dim": 16, "win_size": 8, "img_size": 128]
        #expect(message(uformer, [:]) == nil)
        #expect(message(uformer, ["win_size": 0], section: "network_teacher") == "network_teacher.win_size must be in 1...64, got 0")
        // Used to pass validation and trap in the forward pass of `slkd restore`.
        #expect(message(uformer, ["img_size": 48]) == "network_g.img_size 48 gives layer 3 a 6-pixel window, which does not "
                + "divide the 16-pixel multiples that layer runs on (use a multiple of 128)")
        #expect(message(uformer, ["img_size": 64]) == nil)
        #expect(message(uformer, ["mlp_ratio": -1.0]) == "network_g.mlp_ratio must be a finite number in 0.01...16.0, got -1.0")
    }

    /// The description of what `body` throws, or nil.
    func failure(_ body: () throws -> Void) -> String? {
        do { try body(); return nil } catch { return "\(error)" }
    }

    @Test func swiftCallersGetTheSameChecks() {
        #expect(failure { try DRSformer.Configuration(dim: 0).validate() }
                == "invalid DRSformer configuration: dim must be in 1...1024, got 0")
        #expect(failure { try Restormer.Configuration(heads: [0, 1, 1, 1]).validate() }
                == "invalid Restormer configuration: heads[0] must be in 1...1024, got 0")
        #expect(failure { try DRSformer.Configuration.drsSL.validate() } == nil)
        #expect(failure { try Uformer.Configuration.uformerB.validate() } == nil)
        #expect(failure { try Restormer.Configuration.restormer.validate() } == nil)
    }

    @Test func estimatesAreCloseToTheRealParameterCounts() {
        // Restormer has 26,126,644 parameters, DRSformer 33,655,424 (MEFC not estimated), Uformer-B 50,880,946.
        #expect(abs(Restormer.Configuration.restormer.estimatedParameterCount / 26_126_644 - 1) < 0.1)
        #expect(abs(Uformer.Configuration.uformerB.estimatedParameterCount / 50_880_946 - 1) < 0.2)
        #expect(DRSformer.Configuration.drsformer.estimatedParameterCount < 33_655_424)
    }
}
