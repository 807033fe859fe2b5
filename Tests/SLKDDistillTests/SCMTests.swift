import Testing
import SLKDDistill

@Suite("Scale Conversion Module")
struct SCMTests {
    @Test func projectsStudentChannelsAndLeavesTheTeacherAlone() {
        var g = RandomGenerator(seed: 3)
        let scm = ScaleConversionModule(studentChannels: [2], teacherChannels: [3], dtype: .float64, using: &g)
        let s = Tensor.normal([1, 2, 2, 2], dtype: .float64, using: &g)
        let t = Tensor.normal([1, 3, 2, 2], dtype: .float64, using: &g)
        let (ms, mt) = scm(student: [s], teacher: [t])
        #expect(mt[0].doubles == t.doubles)
        // 1×1 convolution by hand: y[o, p] = Σ_i W[o, i]·x[i, p] + b[o].
        let w = scm.student[0].weight.doubles, b = scm.student[0].bias!.doubles, x = s.doubles
        var expected = [Double]()
        for o in 0..<3 {
            for p in 0..<4 { expected.append(b[o] + w[o * 2] * x[p] + w[o * 2 + 1] * x[4 + p]) }
        }
        expectClose(ms[0], Tensor(shape: [1, 3, 2, 2], scalars: expected), rtol: 1e-14, atol: 1e-14, "SCM 1×1 projection")
    }

    @Test func resizesBilinearlyToTheTeacherSize() {
        var g = RandomGenerator(seed: 4)
        let scm = ScaleConversionModule(studentChannels: [1], teacherChannels: [1], dtype: .float64, using: &g)
        // Identity projection, then 1×2 → 1×4 along W with align_corners false:
        // sources x = (j + 0.5)/2 − 0.5 = −0.25, 0.25, 0.75, 1.25 → clamped, weights 1, .75/.25, .25/.75, 1.
        scm.student[0].weight = Tensor.ones([1, 1, 1, 1], dtype: .float64)
        scm.student[0].bias = Tensor.zeros([1], dtype: .float64)
        let s = Tensor(shape: [1, 1, 1, 2], scalars: [0.0, 4.0])
        let mapped = scm.mapStudent(s, tap: 0, size: (1, 4))
        expectClose(mapped, Tensor(shape: [1, 1, 1, 4], scalars: [0.0, 1.0, 3.0, 4.0]), rtol: 0, atol: 1e-14, "bilinear")
    }

    @Test func parameterKeysAndCommonWidthModeFreezeTheTeacherProjection() {
        var g = RandomGenerator(seed: 5)
        let plain = ScaleConversionModule(studentChannels: [2, 3], teacherChannels: [4, 6], using: &g)
        #expect(plain.stateDictionaryKeys() == ["student.0.weight", "student.0.bias", "student.1.weight", "student.1.bias"])
        #expect(plain.stateDictionary()["student.1.weight"]!.shape == [6, 3, 1, 1])

        let common = ScaleConversionModule(studentChannels: [2], teacherChannels: [4], mode: .commonWidth(5), dtype: .float64, using: &g)
        #expect(common.trainableParameters().map(\.key) == ["student.0.weight", "student.0.bias"])
        #expect(common.namedParameters().count == 4)
        let s = Tensor.normal([1, 2, 3, 3], dtype: .float64, using: &g).requiringGrad()
        let t = Tensor.normal([1, 4, 3, 3], dtype: .float64, using: &g)
        let (ms, mt) = common(student: [s], teacher: [t])
        #expect(ms[0].shape == [1, 5, 3, 3] && mt[0].shape == [1, 5, 3, 3])
        #expect(!mt[0].requiresGrad)
        // The fixed teacher projection is the initial one: W_t·t + b_t.
        let reference = Tensor.conv2d(t, weight: common.teacher[0].weight, bias: common.teacher[0].bias)
        #expect(mt[0].doubles == reference.doubles)
    }
}
