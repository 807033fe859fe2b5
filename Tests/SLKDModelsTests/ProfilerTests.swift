import Foundation
import Testing
import SLKDModels

@Suite struct ProfilerTests {
    // InfraLocalNet(hidden 4, with the attention matmuls) at 1×3×16×16, by fvcore's rules:
    //   head conv 3→4 3×3: 4·3·9·256 = 27648 MACs, 108 + 4 = 112 parameters
    //   body conv 4→4 3×3: 4·4·9·256 = 36864, plus matmuls [4,256]·[256,4] and [4,4]·[4,256]:
    //     4·4·256 + 4·256·4 = 8192 (weightless: charged to body) — 148 parameters
    //   tail conv 4→3 3×3: 3·4·9·256 = 27648, 108 + 3 = 111 parameters
    let expectedStages = [
        ModelProfile.Stage(name: "head", parameters: 112, macs: 27648),
        ModelProfile.Stage(name: "body", parameters: 148, macs: 36864 + 8192),
        ModelProfile.Stage(name: "tail", parameters: 111, macs: 27648),
    ]

    @Test func profileFieldsOfAHandCountedModel() throws {
        let model = InfraLocalNet(hidden: 4, withMatmul: true, dtype: .float32)
        let profile = try ModelProfile.measure(model, name: "local", input: [1, 3, 16, 16], runs: 3)
        #expect(profile.model == "local")
        #expect(profile.input == [1, 3, 16, 16])
        #expect(profile.parameters == 371)
        #expect(profile.macs == 100_352)
        #expect(profile.stages == expectedStages)
        #expect(profile.macsByOperator == ["conv": 92160, "matmul": 8192])
        #expect(profile.runs == 3)
        #expect(profile.latencyMs > 0 && profile.latencyMs < 10_000)
        // One 4×16×16 float32 map is 4 KiB; the output and input are 3 KiB each.
        #expect(profile.activationPeakBytes >= 4096)
        #expect(profile.peakBytes >= profile.activationPeakBytes + 371 * 4)
        #expect(profile.maxRSSBytes > 1 << 20)
    }

    @Test func jsonUsesTheReportFieldNames() throws {
        let model = InfraLocalNet(hidden: 4, withMatmul: true, dtype: .float32)
        let profile = try ModelProfile.measure(model, name: "local", input: [1, 3, 16, 16], runs: 1, warmup: 0)
        let data = try JSONEncoder().encode(profile)
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        for key in ["model", "parameters", "macs", "input", "stages", "latency_ms", "peak_bytes"] {
            #expect(object[key] != nil, "missing \(key)")
        }
        let stages = try #require(object["stages"] as? [[String: Any]])
        #expect(stages.first?["name"] as? String == "head")
        #expect(stages.first?["macs"] as? Int == 27648)
        #expect(try JSONDecoder().decode(ModelProfile.self, from: data) == profile)
    }

    @Test func tableListsStagesAndTotals() throws {
        let model = InfraLocalNet(hidden: 4, withMatmul: true, dtype: .float32)
        let table = try ModelProfile.measure(model, name: "local", input: [1, 3, 16, 16], runs: 1).table
        let lines = table.split(separator: "\n").map(String.init)
        #expect(lines[0].hasPrefix("local @ 1×3×16×16: 371 parameters, 100.352 KMAC"))
        #expect(lines.contains { $0.hasPrefix("body") && $0.contains("148") && $0.contains("45,056") && $0.contains("44.9") })
        #expect(lines.contains { $0.hasPrefix("total") && $0.contains("371") && $0.contains("100,352") })
        #expect(lines.last == "by operator: conv 92.160 K, matmul 8.192 K")
    }

    @Test func explicitStagesTakePrecedence() throws {
        // A forward that names its first convolution "stem": its MACs leave `head`.
        let model = InfraLocalNet(hidden: 4, dtype: .float32)
        var g = RandomGenerator(seed: 3)
        let x = Tensor.uniform([1, 3, 16, 16], using: &g)
        let profile = ModelProfile.measure(model, name: "staged", input: x, runs: 1) { x in
            let y = MACCounter.stage("stem") { model.head(x) }
            return model.tail(model.body(y))
        }
        #expect(profile.stages == [
            .init(name: "head", parameters: 112, macs: 0),
            .init(name: "body", parameters: 148, macs: 36864),
            .init(name: "tail", parameters: 111, macs: 27648),
            .init(name: "stem", parameters: 0, macs: 27648),
        ])
        #expect(profile.macs == 27648 + 36864 + 27648)
    }

    @Test func unsuitableInputShapesThrow() {
        let model = InfraLocalNet(hidden: 4, dtype: .float32)
        #expect(throws: ProfilingError.self) { try ModelProfile.measure(model, input: [1, 3, 12, 16]) }
        #expect(throws: ProfilingError.self) { try ModelProfile.measure(model, input: [1, 1, 16, 16]) }
        #expect(throws: ProfilingError.self) { try ModelProfile.measure(model, input: [3, 16, 16]) }
        let square = InfraLocalNet(hidden: 4, square: true, dtype: .float32)
        #expect(throws: ProfilingError.self) { try ModelProfile.measure(square, input: [1, 3, 16, 32]) }
    }
}
