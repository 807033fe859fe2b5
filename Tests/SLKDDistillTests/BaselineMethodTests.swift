import Foundation
import Testing
import SLKDDistill
import SLKDModels

/// DFKD and DCKD (Docs/Method.md#dfkd, #dckd) and the gradient reversal DFKD trains its generator with.
@Suite("DFKD and DCKD baselines", .serialized)
struct BaselineMethodTests {
    // MARK: Gradient reversal

    @Test func gradientReversalIsTheIdentityForwardAndNegatesAndScalesTheGradient() {
        var g = RandomGenerator(seed: 1)
        let x = Tensor.normal([2, 3], dtype: .float64, using: &g).requiringGrad()
        let w = Tensor.normal([2, 3], dtype: .float64, using: &g)
        let y = x.gradientReversed(scale: 2.5)
        #expect(y.doubles == x.doubles)
        let gradient = (y * w).sum().gradients(wrt: [x])[0]
        #expect(gradient.doubles == w.doubles.map { -2.5 * $0 })
        // The deferred scale is read when the gradient is computed.
        var scale = 0.0
        let z = x.gradientReversed { scale }
        scale = 4
        #expect((z * w).sum().gradients(wrt: [x])[0].doubles == w.doubles.map { -4 * $0 })
    }

    @Test func gradientReversalPassesFloat64GradientChecks() {
        var g = RandomGenerator(seed: 2)
        let x = Tensor.uniform([2, 3], low: -1, high: 1, dtype: .float64, using: &g)
        // Two reversals make the ordinary gradient.
        let twice = gradCheck([x]) { t in t[0].gradientReversed(scale: 0.5).gradientReversed(scale: 2).exp() * t[0] }
        #expect(twice.passed, "\(twice)")
        // One reversal is the gradient of the negated function (value swapped in, gradient kept).
        let once = gradCheck([x]) { t in
            let reversed = t[0].gradientReversed(scale: 3).exp()
            return reversed + ((t[0].exp() * -3) - reversed).detached()
        }
        #expect(once.passed, "\(once)")
    }

    // MARK: DFKD

    static func dfkdObjective(studentSeed: UInt64 = 1, dtype: DType = .float64, interval: Int = 2,
                              realDataWeight: Double = 0) -> DFKDObjective {
        var settings = DistillationConfiguration.DFKDSettings()
        settings.imageSize = 8
        settings.latentSize = 6
        settings.generatorWidth = 4
        settings.generatorInterval = interval
        settings.realDataWeight = realDataWeight
        var g = RandomGenerator(seed: studentSeed + 1000)
        return DFKDObjective(student: TinyRestorer(width: 2, dtype: dtype, seed: studentSeed),
                             teacher: TinyRestorer(width: 4, dtype: dtype, seed: 100), settings: settings, using: &g)
    }

    static func dfkdInputs(seed: UInt64) -> (clean: Tensor, noise: Tensor) {
        var g = RandomGenerator(seed: seed)
        return (Tensor.uniform([1, 3, 8, 8], low: 0.25, high: 0.75, dtype: .float64, using: &g),
                Tensor.normal([1, 3, 8, 8], std: 0.02, dtype: .float64, using: &g))
    }

    @Test func dfkdGeneratorGradientIsTheGradientOfTheGeneratorLoss() {
        // The one backward of the total gives the generated image the gradient of
        // L_G = −w_adv·log(1 + ℓ_sum(S, T)) + w_R·ℓ_sum(T(x̃), c), checked against finite differences of L_G.
        let o = Self.dfkdObjective()
        let (c, noise) = Self.dfkdInputs(seed: 3)
        let report = gradCheck([c], atol: 1e-5, rtol: 1e-4) { t in
            let pass = o.generatorPass(clean: t[0], noise: noise)
            return pass.total + (pass.generatorLoss - pass.total).detached()
        }
        #expect(report.passed, "\(report)")
        print("DFKD generator gradient check: max |Δ| \(report.maxAbsoluteError)")
    }

    @Test func dfkdStudentGradientIsTheGradientOfTheKDLoss() throws {
        let o = Self.dfkdObjective()
        let (c, noise) = Self.dfkdInputs(seed: 4)
        let student = try #require(o.student as? TinyRestorer)
        let report = parameterGradCheck([student.tail, student.head]) {
            let pass = o.generatorPass(clean: c, noise: noise)
            // The total's value is L_S = mean (S − T)², and so must its student gradient be.
            #expect(pass.total.item == pass.studentLoss.item)
            return pass.total
        }
        #expect(report.passed, "\(report)")
        print("DFKD student gradient check: max |Δ| \(report.maxAbsoluteError)")
    }

    @Test func dfkdTrainsTheGeneratorOnlyOnGeneratorSteps() throws {
        let o = Self.dfkdObjective(interval: 3)
        #expect(o.trainableModules.map(\.key) == ["student", "generator"])
        let pairs = syntheticPairs(count: 2, size: 8, dtype: .float64, seed: 5)
        var source = try inMemorySource(pairs: pairs, batchSize: 2)
        let generatorWeights = o.generatorNetwork.namedParameters().map(\.tensor)
        let studentWeights = o.student.namedParameters().map(\.tensor)
        for id in 0..<3 {
            var batch = try source.nextBatch()
            batch.id = id
            var rng = RandomGenerator(seed: UInt64(id))
            let step = o.loss(for: batch, generator: &rng)
            #expect(step.total.item.isFinite)
            let gradients = step.total.gradients(wrt: generatorWeights + studentWeights)
            let generatorNorm = gradients.prefix(generatorWeights.count).map { $0.squared().sum().item }.reduce(0, +)
            let studentNorm = gradients.suffix(studentWeights.count).map { $0.squared().sum().item }.reduce(0, +)
            #expect(studentNorm > 0)
            if id == 2 {
                #expect(o.isGeneratorStep(batch))
                #expect(generatorNorm > 0)
                #expect(step.terms.keys.sorted() == ["adversarial", "consistency", "kd"])
            } else {
                #expect(!o.isGeneratorStep(batch))
                #expect(generatorNorm == 0)
                #expect(step.terms.keys.sorted() == ["kd"])
            }
        }
    }

    // MARK: DCKD

    static func dckdObjective(studentSeed: UInt64 = 1, dtype: DType = .float64,
                              settings: DistillationConfiguration.DCKDSettings = .init()) -> DCKDObjective {
        var g = RandomGenerator(seed: studentSeed + 2000)
        return DCKDObjective(student: TinyRestorer(width: 2, dtype: dtype, seed: studentSeed),
                             teacher: TinyRestorer(width: 4, dtype: dtype, seed: 100), settings: settings, using: &g)
    }

    @Test func dckdLossPassesAFloat64GradientCheck() throws {
        for target in [DistillationConfiguration.DCKDSettings.Target.groundTruth, .teacher] {
            var settings = DistillationConfiguration.DCKDSettings()
            settings.target = target
            let o = Self.dckdObjective(settings: settings)
            #expect(o.cuts == [[0, 1], [2]])
            let pair = syntheticPairs(count: 1, size: 8, dtype: .float64, seed: 6)[0]
            let x = pair.degraded.reshaped([1, 3, 8, 8]), y = pair.clean.reshaped([1, 3, 8, 8])
            let student = try #require(o.student as? TinyRestorer)
            let report = parameterGradCheck([student.head, student.tail, o.scm.student[1], o.reverse.student[2]]) {
                o.terms(degraded: x, clean: y).total
            }
            #expect(report.passed, "\(report)")
            print("DCKD (\(target)) gradient check: max |Δ| \(report.maxAbsoluteError)")
        }
    }

    @Test func dckdTeacherToStudentPathGivesTheStudentFrontNoGradient() throws {
        var settings = DistillationConfiguration.DCKDSettings()
        settings.studentToTeacherWeight = 0
        settings.decoderCut = false
        var g = RandomGenerator(seed: 3)
        let o = DCKDObjective(student: TinyRestorer(width: 2, dtype: .float64, seed: 1), teacher: TinyRestorer(width: 4, dtype: .float64, seed: 100),
                              settings: settings, pixelWeight: 0, using: &g)
        let pair = syntheticPairs(count: 1, size: 8, dtype: .float64, seed: 6)[0]
        let r = o.terms(degraded: pair.degraded.reshaped([1, 3, 8, 8]), clean: pair.clean.reshaped([1, 3, 8, 8]))
        let student = try #require(o.student as? TinyRestorer)
        let gradients = r.total.gradients(wrt: [student.head.weight, student.tail.weight, o.reverse.student[0].weight])
        #expect(gradients[0].abs().sum().item == 0)   // the encoder (front) is replaced
        #expect(gradients[1].abs().sum().item > 0)    // the back is trained
        #expect(gradients[2].abs().sum().item > 0)    // and so is the adapter
    }

    @Test func crossFeedingAnIdenticalNetworkThroughAnIdentitySCMGivesTheTeacherOutput() {
        var g = RandomGenerator(seed: 4)
        let teacher = TinyRestorer(width: 4, dtype: .float64, seed: 100)
        let student = TinyRestorer(width: 4, dtype: .float64, seed: 100)
        let o = DCKDObjective(student: student, teacher: teacher, using: &g)
        for conv in o.scm.student {
            let c = conv.weight.shape[0]
            conv.weight = Tensor(shape: [c, c, 1, 1], scalars: (0..<(c * c)).map { $0 % (c + 1) == 0 ? 1.0 : 0.0 })
            conv.bias = Tensor.zeros([c], dtype: .float64)
        }
        let x = syntheticPairs(count: 1, size: 8, dtype: .float64, seed: 6)[0].degraded.reshaped([1, 3, 8, 8])
        let s = student.forward(x, features: ["enc1", "enc2"])
        var replacements: [String: Tensor] = [:]
        for (k, name) in ["enc1", "enc2"].enumerated() { 
            let f = s.features[name]!
            replacements[name] = o.scm.mapStudent(f, tap: k, size: (f.shape[2], f.shape[3]))
        }
        let crossed = withoutGradients { teacher.forward(x, features: ["enc2"], replacing: replacements) }
        #expect(crossed.image.doubles == withoutGradients { teacher(x) }.doubles)
        #expect(crossed.features["enc2"]!.doubles == s.features["enc2"]!.doubles)
    }

    // MARK: Training

    static func trainer(_ objective: any TrainingObjective, steps: Int, learningRate: Double = 3e-3) throws -> Trainer {
        let source = try inMemorySource(pairs: syntheticPairs(count: 6, size: 8, seed: 7), batchSize: 2, randomFlips: true, seed: 3)
        var configuration = TrainerConfiguration(totalSteps: steps)
        configuration.learningRate = learningRate
        configuration.minimumLearningRate = learningRate
        configuration.seed = 11
        return Trainer(objective: objective, data: source, configuration: configuration, logger: quietLogger)
    }

    static func objective(_ method: DistillationConfiguration.Method, studentSeed: UInt64) throws -> any TrainingObjective {
        var c = DistillationConfiguration.method(method)
        var f = DistillationConfiguration.DFKDSettings()
        f.imageSize = 8
        f.latentSize = 6
        f.generatorWidth = 4
        f.generatorInterval = 2
        c.dfkd = f
        var g = RandomGenerator(seed: studentSeed + 3000)
        return try c.objective(student: TinyRestorer(width: 2, seed: studentSeed), teacherA: TinyRestorer(width: 4, seed: 100), using: &g)
    }

    @Test(arguments: [DistillationConfiguration.Method.dfkd, .dckd])
    func trainsWithAFiniteDecreasingLoss(_ method: DistillationConfiguration.Method) throws {
        let o = try Self.objective(method, studentSeed: 1)
        #expect(method == .dfkd ? o is DFKDObjective : o is DCKDObjective)
        let trainer = try Self.trainer(o, steps: 40, learningRate: 1e-2)
        var losses: [Double] = []
        for _ in 0..<40 {
            let r = try trainer.takeStep()
            #expect(!r.skipped)
            losses.append(method == .dfkd ? r.terms["kd"]! : r.loss)
        }
        #expect(losses.allSatisfy { $0.isFinite })
        let first = losses.prefix(8).reduce(0, +) / 8, last = losses.suffix(8).reduce(0, +) / 8
        #expect(last < first, "\(method): first \(first), last \(last)")
    }

    @Test(arguments: [DistillationConfiguration.Method.dfkd, .dckd])
    func aCheckpointMidRunResumesBitExactly(_ method: DistillationConfiguration.Method) throws {
        let (n, k) = (7, 3)
        let straight = try Self.trainer(Self.objective(method, studentSeed: 1), steps: n)
        try straight.run(steps: n)
        let first = try Self.trainer(Self.objective(method, studentSeed: 1), steps: n)
        try first.run(steps: k)
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("slkd-baseline-resume-\(method.reportName)-\(ProcessInfo.processInfo.processIdentifier).safetensors")
        defer { try? FileManager.default.removeItem(at: url) }
        try first.saveCheckpoint(to: url)
        let resumed = try Self.trainer(Self.objective(method, studentSeed: 99), steps: n)
        try resumed.loadCheckpoint(from: url)
        try resumed.run(steps: n - k)
        let p = TrainerTests.parameters
        #expect(p(resumed) == p(straight))   // bit-identical, the generator's weights included
        #expect(p(resumed) != p(first))
        #expect(resumed.generator == straight.generator)
        if method == .dfkd { #expect(p(straight).keys.contains { $0.hasPrefix("generator.") }) }
        if method == .dckd { #expect(p(straight).keys.contains { $0.hasPrefix("reverse.") }) }
    }

    // MARK: Options and catalog

    @Test func optionsSelectTheBaselinesAndCheckTheirKeys() throws {
        func read(_ distill: String) throws -> DistillationConfiguration {
            try TrainingOptions(yaml: TrainingOptionsTests.officialDeraining + "\ndistill:\n" + distill, baseFolder: URL(fileURLWithPath: "/x"))
                .distillation
        }
        func message(_ distill: String) -> String {
            do { _ = try read(distill); return "no error" } catch { return "\(error)" }
        }
        let dfkd = try read("  method: dfkd\n  dfkd_generator_interval: 10\n  dfkd_image_size: 64\n  dfkd_reconstruction_weight: 0\n")
        #expect(dfkd.method == .dfkd)
        #expect(dfkd.dfkdSettings.generatorInterval == 10)
        #expect(dfkd.dfkdSettings.imageSize == 64)
        #expect(dfkd.dfkdSettings.reconstructionWeight == 0)
        #expect(dfkd.dfkdSettings.adversarialWeight == 1)
        let dckd = try read("  method: dckd\n  dckd_teacher_to_student_weight: 0\n  dckd_target: teacher\n  dckd_decoder_cut: false\n")
        #expect(dckd.method == .dckd)
        #expect(dckd.dckdSettings.teacherToStudentWeight == 0)
        #expect(dckd.dckdSettings.target == .teacher)
        #expect(!dckd.dckdSettings.decoderCut && dckd.dckdSettings.encoderCut)
        #expect(try read("  method: slkd\n").dfkd == nil)
        #expect(message("  dfkd_generator_interval: 0\n").contains("'distill.dfkd_generator_interval'"))
        #expect(message("  dfkd_image_size: 30\n").contains("multiple of 4"))
        #expect(message("  dfkd_max_noise: 2\n").contains("'distill.dfkd_max_noise'"))
        #expect(message("  dckd_student_to_teacher_weight: -1\n").contains("'distill.dckd_student_to_teacher_weight'"))
        #expect(message("  dckd_target: magic\n").contains("'distill.dckd_target' is 'magic'"))
        #expect(message("  dckd_encoder_cut: false\n  dckd_decoder_cut: false\n").contains("needs a cut"))
    }

    @Test func theCatalogNamesBothBaselines() throws {
        #expect(ComparedMethod.named("dfkd")?.configuration.method == .dfkd)
        #expect(ComparedMethod.named("dckd")?.configuration.method == .dckd)
        let data = try JSONEncoder().encode(ComparedMethod.dfkd)
        #expect(try JSONDecoder().decode(ComparedMethod.self, from: data) == .dfkd)
        #expect(try JSONDecoder().decode(ComparedMethod.self, from: Data("\"dckd\"".utf8)) == .dckd)
    }

    @Test func theFactoryRejectsAGeneratedSizeTheNetworksCannotTake() {
        var c = DistillationConfiguration.method(.dfkd)
        var f = DistillationConfiguration.DFKDSettings()
        f.imageSize = 4
        f.generatorWidth = 2
        c.dfkd = f
        var g = RandomGenerator(seed: 0)
        final class Picky: Module, RestorationModel {
            let inner = TinyRestorer(width: 2, seed: 1)
            func callAsFunction(_ input: Tensor) -> Tensor { inner(input) }
            func forward(_ input: Tensor, features: Set<String>) -> ModelOutput { inner.forward(input, features: features) }
            var featureNames: [String] { inner.featureNames }
            var encoderTaps: [String] { inner.encoderTaps }
            var decoderTaps: [String] { inner.decoderTaps }
            var sizeMultiple: Int { 8 }
            var inputChannels: Int { 3 }
        }
        #expect(throws: TrainingSetupError.self) {
            _ = try c.objective(student: Picky(), teacherA: TinyRestorer(width: 4, seed: 100), using: &g)
        }
    }
}

/// The outcome of ``parameterGradCheck(_:eps:atol:rtol:loss:)``.
struct ParameterGradCheckReport: CustomStringConvertible {
    var passed = true
    var maxAbsoluteError = 0.0
    var worst = ""
    var description: String { "parameter gradcheck \(passed ? "passed" : "FAILED"): max |Δ| \(maxAbsoluteError) at \(worst)" }
}

/// ``gradCheck`` for the weights and biases of convolutions inside networks (setting a weight
/// makes it a new leaf, so the check reads the gradient of the module's own tensors): autograd's
/// gradient of the scalar `loss` against central differences, element by element, passing when
/// |analytic − numeric| ≤ atol + rtol·|numeric|. Every weight must be float64.
func parameterGradCheck(_ convolutions: [Conv2d], eps: Double = 1e-6, atol: Double = 1e-5, rtol: Double = 1e-3,
                        loss: () -> Tensor) -> ParameterGradCheckReport {
    var slots: [(name: String, get: () -> Tensor, set: (Tensor) -> Void)] = []
    for (k, conv) in convolutions.enumerated() {
        slots.append(("\(k).weight", { conv.weight }, { conv.weight = $0 }))
        if conv.bias != nil { slots.append(("\(k).bias", { conv.bias! }, { conv.bias = $0 })) }
    }
    let analytic = loss().gradients(wrt: slots.map { $0.get() })
    var report = ParameterGradCheckReport()
    for (k, slot) in slots.enumerated() {
        let original = slot.get()
        precondition(original.dtype == .float64, "parameterGradCheck needs float64 weights")
        var values = original.doubles
        let gradient = analytic[k].doubles
        for i in values.indices {
            let v = values[i]
            func evaluate(_ x: Double) -> Double {
                values[i] = x
                slot.set(Tensor(shape: original.shape, scalars: values))
                return withoutGradients { loss().item }
            }
            let numeric = (evaluate(v + eps) - evaluate(v - eps)) / (2 * eps)
            values[i] = v
            let difference = Swift.abs(gradient[i] - numeric)
            if difference > report.maxAbsoluteError {
                report.maxAbsoluteError = difference
                report.worst = "\(slot.name)[\(i)] analytic \(gradient[i]) numeric \(numeric)"
            }
            if difference > atol + rtol * Swift.abs(numeric) { report.passed = false }
        }
        slot.set(original)
    }
    return report
}

@Suite("DFKD generator")
struct DFKDGeneratorTests {
    @Test func instanceNormNormalisesEachChannelOfEachImageAndPassesAGradientCheck() {
        var g = RandomGenerator(seed: 1)
        let x = Tensor.normal([2, 3, 4, 4], mean: 2, std: 3, dtype: .float64, using: &g)
        let norm = InstanceNorm2d(3, eps: 1e-5, dtype: .float64)
        let y = withoutGradients { norm(x) }
        let mean = y.mean(axes: [2, 3]).doubles, variance = y.variance(axes: [2, 3], unbiased: false).doubles
        #expect(mean.allSatisfy { Swift.abs($0) < 1e-12 })
        #expect(variance.allSatisfy { Swift.abs($0 - 1) < 1e-4 })
        let report = gradCheck([x]) { t in norm(t[0]) }
        #expect(report.passed, "\(report)")
    }

    @Test func generatorMakesImagesInTheUnitRangeAndPassesAGradientCheck() {
        var g = RandomGenerator(seed: 2)
        let generator = DFKDGenerator(latentSize: 5, imageSize: 8, width: 4, channels: 3, dtype: .float64, using: &g)
        let z = Tensor.normal([2, 5], dtype: .float64, using: &g)
        let image = withoutGradients { generator(z) }
        #expect(image.shape == [2, 3, 8, 8])
        #expect(image.doubles.allSatisfy { $0 >= 0 && $0 <= 1 })
        let report = gradCheck([z]) { t in generator(t[0]) }
        #expect(report.passed, "\(report)")
        print("DFKD generator (z → image) gradient check: max |Δ| \(report.maxAbsoluteError)")
        #expect(generator.namedParameters().map(\.key).sorted() == [
            "conv1.bias", "conv1.weight", "conv2.bias", "conv2.weight", "conv3.bias", "conv3.weight", "fc.bias", "fc.weight",
            "norm0.bias", "norm0.weight", "norm1.bias", "norm1.weight", "norm2.bias", "norm2.weight"])
    }
}
