import Foundation
import Logging
import Testing
import SLKDDistill

/// The named methods an experiment compares, and the settings files that name them.
@Suite("Compared methods")
struct ComparedMethodTests {
    @Test func catalogNamesAreUniqueAndEachSetsItsSwitch() throws {
        let names = ComparedMethod.catalog.map(\.name)
        #expect(Set(names).count == names.count)
        let spec = DistillationConfiguration.slkd
        #expect(ComparedMethod.slkd.configuration == spec)
        #expect(ComparedMethod.slkdGroundTruthPixel.configuration.pixelTarget == .groundTruth)
        #expect(ComparedMethod.slkdTeacherBDegraded.configuration.teacherBInput == .degraded)
        #expect(!ComparedMethod.slkdWithoutNC.configuration.useDegradationRemoval)
        #expect(!ComparedMethod.slkdWithoutET.configuration.useImageReconstruction)
        let imageOnly = ComparedMethod.slkdImageTermsOnly.configuration
        #expect(!imageOnly.useDegradationRemoval && !imageOnly.useImageReconstruction)
        // Each variant differs from the default SLKD (Docs/Method.md) in its one switch only.
        var gt = ComparedMethod.slkdGroundTruthPixel.configuration
        gt.pixelTarget = spec.pixelTarget
        #expect(gt == spec)
        #expect(ComparedMethod.named("output_kd") == .outputKD)
        #expect(ComparedMethod.named("nope") == nil)
    }

    @Test func settingsWithPlainMethodNamesStillDecode() throws {
        // What the bundled demo teacher's metadata holds: methods as plain Method raw values.
        var json = try #require(try JSONSerialization.jsonObject(with: JSONEncoder().encode(ExperimentSettings())) as? [String: Any])
        json["methods"] = ["studentAlone", "outputKD", "slkd", "fitNets"]
        let decoded = try JSONDecoder().decode(ExperimentSettings.self, from: JSONSerialization.data(withJSONObject: json))
        #expect(decoded.methods == [.studentAlone, .outputKD, .slkd, .fitNets])
        json["methods"] = ["slkdd"]
        #expect(throws: DecodingError.self) {
            try JSONDecoder().decode(ExperimentSettings.self, from: JSONSerialization.data(withJSONObject: json))
        }
        #expect(DemoTeacher.weights(for: ExperimentSettings()) != nil, "the bundled teacher no longer matches the demo")
    }

    @Test func customMethodsRoundTrip() throws {
        var configuration = DistillationConfiguration.slkd
        configuration.reconstructionWeight = 0.02
        var settings = ExperimentSettings()
        settings.methods = [.studentAlone, ComparedMethod(name: "slkd_light_et", label: "SLKD, λ_et 0.02", configuration: configuration)]
        let decoded = try JSONDecoder().decode(ExperimentSettings.self, from: JSONEncoder().encode(settings))
        #expect(decoded == settings)
    }

    @Test func duplicateNamesAreRefused() throws {
        var settings = ExperimentSettings.quick
        settings.methods = [.slkd, ComparedMethod(name: "slkd", label: "again", configuration: .slkd)]
        #expect(throws: ExperimentError.duplicateMethodName("slkd")) {
            _ = try DistillationExperiment(settings: settings, logger: Logger(label: "test"))
        }
    }
}
