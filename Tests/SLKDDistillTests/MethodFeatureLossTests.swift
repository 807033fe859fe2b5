import Testing
import SLKDDistill

@Suite("SLKD feature losses (L_nc, L_et)")
struct MethodFeatureLossTests {
    static let reference = try? loadReferenceCases("slkd_losses").first

    /// L_nc and L_et on the reference taps through an SCM carrying the reference weights.
    static func evaluate(_ c: ReferenceCase, dtype: DType, scaling: FeatureScaling = .none)
        -> (scm: ScaleConversionModule, students: [Tensor], value: [Tensor]) {
        let k = 3
        let students = (0..<k).map { c.inputs["s\($0)"]!.tensor(dtype).requiringGrad() }
        let teachers = (0..<k).map { c.inputs["t\($0)"]!.tensor(dtype) }
        var g = RandomGenerator(seed: 0)
        let scm = ScaleConversionModule(studentChannels: students.map { $0.shape[1] }, teacherChannels: teachers.map { $0.shape[1] },
                                        dtype: dtype, using: &g)
        var weights: [String: Tensor] = [:]
        for i in 0..<k {
            weights["student.\(i).weight"] = c.inputs["w\(i)"]!.tensor(dtype)
            weights["student.\(i).bias"] = c.inputs["b\(i)"]!.tensor(dtype)
        }
        try! scm.loadStateDictionary(weights)
        let mapped = scm(student: students, teacher: teachers)
        let nc = DegradationRemovalLoss(scaling: scaling)(student: mapped.student, teacher: mapped.teacher)
        let et = ImageReconstructionLoss(scaling: scaling)(student: mapped.student, teacher: mapped.teacher)
        return (scm, students, [nc, et])
    }

    @Test("L_nc and L_et match the PyTorch re-implementation (values and gradients)", arguments: [DType.float64, .float32])
    func matchesPyTorch(dtype: DType) throws {
        let c = try #require(Self.reference)
        let (rtol, atol) = dtype == .float64 ? (1e-8, 1e-11) : (2e-3, 1e-5)
        let (scm, students, value) = Self.evaluate(c, dtype: dtype)
        let expected = c.output.data, upstream = try #require(c.upstream).data
        for (i, name) in ["L_nc", "L_et"].enumerated() {
            #expect(Swift.abs(value[i].item - expected[i]) <= atol + rtol * Swift.abs(expected[i]), "\(name) \(value[i].item) vs \(expected[i])")
        }
        let grads = (value[0] * upstream[0] + value[1] * upstream[1]).backward()
        for k in 0..<3 {
            expectClose(try #require(grads[students[k]]), c.grads["s\(k)"]!.tensor(dtype), rtol: rtol * 10, atol: atol * 10, "d s\(k)")
            expectClose(try #require(grads[scm.student[k].weight]), c.grads["w\(k)"]!.tensor(dtype), rtol: rtol * 10, atol: atol * 10, "d w\(k)")
            expectClose(try #require(grads[scm.student[k].bias!]), c.grads["b\(k)"]!.tensor(dtype), rtol: rtol * 10, atol: atol * 10, "d b\(k)")
        }
    }

    /// Student taps 2×3×16×16 (same size as the teacher's) and 2×3×8×8 (resized to 16×16), an SCM
    /// in float64, a fixed teacher.
    static func gradientSetup(seed: UInt64) -> (students: [Tensor], teachers: [Tensor], scm: ScaleConversionModule) {
        var g = RandomGenerator(seed: seed)
        let students = [Tensor.normal([2, 3, 16, 16], std: 0.5, dtype: .float64, using: &g),
                        Tensor.normal([2, 3, 8, 8], std: 0.5, dtype: .float64, using: &g)]
        let teachers = [Tensor.normal([2, 4, 16, 16], dtype: .float64, using: &g), Tensor.normal([2, 2, 16, 16], dtype: .float64, using: &g)]
        let scm = ScaleConversionModule(studentChannels: [3, 3], teacherChannels: [4, 2], dtype: .float64, using: &g)
        return (students, teachers, scm)
    }

    @Test func degradationRemovalLossPassesGradCheck() {
        let (students, teachers, scm) = Self.gradientSetup(seed: 21)
        let loss = DegradationRemovalLoss()
        let report = gradCheck(students) { s in
            let m = scm(student: s, teacher: teachers)
            return loss(student: m.student, teacher: m.teacher)
        }
        #expect(report.passed, "\(report)")
    }

    @Test func imageReconstructionLossPassesGradCheck() {
        let (students, teachers, scm) = Self.gradientSetup(seed: 22)
        let loss = ImageReconstructionLoss()
        let report = gradCheck(students) { s in
            let m = scm(student: s, teacher: teachers)
            return loss(student: m.student, teacher: m.teacher)
        }
        #expect(report.passed, "\(report)")
    }

    @Test func scaleAndBlockSelectionFollowTheSpec() {
        let nc = DegradationRemovalLoss()
        #expect(nc.scales(height: 14, width: 14) == 2)   // second scale 7×7
        #expect(nc.scales(height: 13, width: 64) == 2)   // ⌈13/2⌉ = 7
        #expect(nc.scales(height: 12, width: 64) == 1)   // ⌈12/2⌉ = 6 < 7
        #expect(nc.scales(height: 128, width: 128) == 2)
        let et = ImageReconstructionLoss()
        #expect(et.blockSide(height: 32, width: 32) == 16)
        #expect(et.blockSide(height: 31, width: 64) == 8)
        #expect(et.blockSide(height: 16, width: 16) == 8)
    }

    @Test func identicalMapsGiveZeroLossAndTheTeacherGetsNoGradient() {
        var g = RandomGenerator(seed: 9)
        let x = Tensor.normal([2, 3, 16, 16], dtype: .float64, using: &g)
        #expect(DegradationRemovalLoss()(student: [x], teacher: [x]).item == 0)
        #expect(ImageReconstructionLoss()(student: [x], teacher: [x]).item == 0)
        let s = (x * 1.3).detached().requiringGrad(), t = x.requiringGrad()
        let grads = (DegradationRemovalLoss()(student: [s], teacher: [t]) + ImageReconstructionLoss()(student: [s], teacher: [t]))
            .gradients(wrt: [s, t])
        #expect(grads[1].abs().max().item == 0)
        #expect(grads[0].abs().max().item > 0)
    }

    @Test func deadAndSparseChannelsGiveFiniteLossesAndGradients() {
        // ReLU features: a channel of zeros, a channel of isolated spikes (all neighbour products 0).
        var g = RandomGenerator(seed: 12)
        var spikes = [Double](repeating: 0, count: 256)
        for i in stride(from: 0, to: 256, by: 37) { spikes[i] = 1 + g.nextUnit() }
        let dead = Tensor.zeros([1, 1, 16, 16], dtype: .float64)
        let sparse = Tensor(shape: [1, 1, 16, 16], scalars: spikes)
        let teacher = Tensor.concatenated([dead, sparse, Tensor.normal([1, 1, 16, 16], dtype: .float64, using: &g).relu()], axis: 1)
        let student = Tensor.concatenated([sparse, dead, Tensor.normal([1, 1, 16, 16], dtype: .float64, using: &g)], axis: 1)
            .requiringGrad()
        for loss in [DegradationRemovalLoss()(student: [student], teacher: [teacher]),
                     ImageReconstructionLoss()(student: [student], teacher: [teacher])] {
            #expect(loss.item.isFinite)
            let grad = loss.gradients(wrt: [student])[0]
            #expect(grad.doubles.allSatisfy { $0.isFinite })
        }
    }

    @Test func edgeFeatureIsTheUngatedDistortionByDefault() {
        // On a map whose blocks are all inactive (tiny variance), the gated d vanishes but the
        // f_e = w_ndc(1 − v) + w_nc·v of Docs/Method.md#l-et does not.
        var g = RandomGenerator(seed: 10)
        let x = Tensor.normal([1, 1, 16, 16], std: 1e-4, dtype: .float64, using: &g)
        var loss = ImageReconstructionLoss(c: 1)  // c = 1 keeps the MSCN variance far below 0.1
        let ungated = loss.features(x).edge
        loss.edgeFeature = .gatedDistortion
        let gated = loss.features(x).edge
        #expect(gated.abs().max().item < 1e-3)
        #expect(ungated.abs().max().item > 0.5)
    }
}
