import SLKDDistill
import SLKDTestSupport
import Testing

/// `ScaleConversionModule.initialiseByLeastSquares`: the 1×1 convolutions fitted by LAPACK.
@Suite("SCM least-squares initialisation")
struct SCMLeastSquaresTests {
    static let w: [Double] = [0.5, -1.0, 2.0, 1.5, 0.0, -0.5, -2.0, 0.25, 1.0, 0.75, 0.5, -1.25, 3.0, -0.5, 0.125]  // 5×3
    static let bias: [Double] = [0.1, -0.2, 0.3, 0.0, -1.0]

    /// y[b, o, p] = bias[o] + Σ_c W[o, c]·x[b, c, p], by hand, for a B×3×H×W input.
    static func project(_ x: Tensor) -> Tensor {
        let (batch, h, wd) = (x.shape[0], x.shape[2], x.shape[3]), plane = h * wd, v = x.doubles
        var out = [Double](repeating: 0, count: batch * 5 * plane)
        for b in 0..<batch {
            for o in 0..<5 {
                for p in 0..<plane {
                    out[(b * 5 + o) * plane + p] = bias[o] + (0..<3).reduce(0.0) { $0 + w[o * 3 + $1] * v[(b * 3 + $1) * plane + p] }
                }
            }
        }
        return Tensor(shape: [batch, 5, h, wd], scalars: out)
    }

    @Test func recoversAKnownProjectionExactly() throws {
        var g = RandomGenerator(seed: 21)
        let scm = ScaleConversionModule(studentChannels: [3], teacherChannels: [5], dtype: .float64, using: &g)
        let s = Tensor.normal([2, 3, 4, 4], dtype: .float64, using: &g)
        let residuals = try scm.initialiseByLeastSquares(student: [s], teacher: [Self.project(s)])
        #expect(residuals.count == 1 && residuals[0] < 1e-13)
        #expect(scm.student[0].weight.shape == [5, 3, 1, 1])
        for (got, want) in zip(scm.student[0].weight.doubles, Self.w) { #expect(abs(got - want) < 1e-12) }
        for (got, want) in zip(scm.student[0].bias!.doubles, Self.bias) { #expect(abs(got - want) < 1e-12) }
    }

    @Test func fitsThroughTheResizeToTheTeacherSizeInFloat32() throws {
        var g = RandomGenerator(seed: 22)
        // Slot 1 of two (a decoder tap): the other slot keeps its random start.
        let scm = ScaleConversionModule(studentChannels: [2, 3], teacherChannels: [4, 5], decoderTapOffset: 1, using: &g)
        let untouched = scm.student[0].weight.floats
        let s = Tensor.normal([2, 3, 4, 4], using: &g)
        let t = Self.project(s.cast(to: .float64)).bilinearResized(to: (8, 8), alignCorners: false).cast(to: .float32)
        let residuals = try scm.initialiseByLeastSquares(student: [s], teacher: [t], offset: 1)
        #expect(residuals[0] < 1e-6)
        #expect(scm.student[0].weight.floats == untouched)
        #expect(scm.student[1].weight.dtype == .float32)
        for (got, want) in zip(scm.student[1].weight.doubles, Self.w) { #expect(abs(got - want) < 1e-5) }
        let mapped = scm.mapStudent(s, tap: 1, size: (8, 8))
        expectClose(mapped, t, rtol: 1e-5, atol: 1e-5, "SCM after the fit reproduces the teacher")
    }

    @Test func matchesTheNormalEquationsOnUnrelatedFeatures() throws {
        var g = RandomGenerator(seed: 23)
        let scm = ScaleConversionModule(studentChannels: [3], teacherChannels: [2], dtype: .float64, using: &g)
        let s = Tensor.normal([1, 3, 5, 5], dtype: .float64, using: &g), t = Tensor.normal([1, 2, 5, 5], dtype: .float64, using: &g)
        let residuals = try scm.initialiseByLeastSquares(student: [s], teacher: [t])
        #expect(residuals[0] > 0.5 && residuals[0] < 1)  // noise is mostly not explained by 4 numbers per channel
        let sv = s.doubles, tv = t.doubles
        let rows = (0..<25).map { p in (0..<3).map { sv[$0 * 25 + p] } + [1] }
        for o in 0..<2 {
            let expected = normalEquationsSolution(rows, (0..<25).map { tv[o * 25 + $0] })  // W[o, 0..<3], then b[o]
            let got = Array(scm.student[0].weight.doubles[(o * 3)..<(o * 3 + 3)]) + [scm.student[0].bias!.doubles[o]]
            for (a, b) in zip(got, expected) { #expect(abs(a - b) < 1e-10) }
        }
    }

    @Test func commonWidthFitsTheFrozenTeacherProjection() throws {
        var g = RandomGenerator(seed: 24)
        let scm = ScaleConversionModule(studentChannels: [3], teacherChannels: [3], mode: .commonWidth(5), dtype: .float64, using: &g)
        // Teacher features = student features: the teacher's frozen projection is then an exact fit.
        let s = Tensor.normal([1, 3, 4, 4], dtype: .float64, using: &g)
        try scm.initialiseByLeastSquares(student: [s], teacher: [s])
        #expect(scm.student[0].weight.doubles.elementsEqual(scm.teacher[0].weight.doubles) { abs($0 - $1) < 1e-12 })
        #expect(scm.student[0].bias!.doubles.elementsEqual(scm.teacher[0].bias!.doubles) { abs($0 - $1) < 1e-12 })
    }
}

/// `distill.scm_init: least_squares`: the objective fits the SCM on the first batch of a run.
@Suite("SCM least-squares start in the objective")
struct SCMLeastSquaresObjectiveTests {
    @Test func firstBatchFitsTheSCMAndLaterBatchesDoNot() throws {
        var configuration = DistillationConfiguration.slkd
        configuration.scmInitialisation = .leastSquares
        let o = MethodObjectiveTests.objective(configuration)
        let random = MethodObjectiveTests.objective()  // same seeds, default start
        let scm = try #require(o.scm)
        let start = random.scm!.student.map(\.weight.doubles)
        #expect(scm.student.map(\.weight.doubles) == start)

        // The fit computed here, from the networks' taps, on a copy with the same start.
        let b = MethodObjectiveTests.batch(id: 0)
        let student = o.student as! TinyRestorer, teacher = o.teacherA as! TinyRestorer
        let s = withoutGradients { student.forwardWithTaps(b.degraded) }
        let a = withoutGradients { teacher.forwardWithTaps(b.degraded) }
        let bClean = withoutGradients { teacher.forwardWithTaps(b.clean) }  // teacher B: A's weights, clean input
        let expected = random.scm!
        try expected.initialiseByLeastSquares(student: s.encoder, teacher: a.encoder)
        try expected.initialiseByLeastSquares(student: s.decoder, teacher: bClean.decoder, offset: expected.decoderTapOffset)

        var g = RandomGenerator(seed: 0)
        _ = o.loss(for: b, generator: &g)
        for (got, want) in zip(scm.student, expected.student) {
            for (x, y) in zip(got.weight.doubles, want.weight.doubles) { #expect(abs(x - y) < 1e-12) }
            for (x, y) in zip(got.bias!.doubles, want.bias!.doubles) { #expect(abs(x - y) < 1e-12) }
        }
        #expect(scm.student.map(\.weight.doubles) != start)

        // A later batch (or the first batch of a resumed run, whose id is not 0) keeps the weights.
        let fitted = scm.student.map(\.weight.doubles)
        _ = o.loss(for: MethodObjectiveTests.batch(id: 1), generator: &g)
        #expect(scm.student.map(\.weight.doubles) == fitted)
    }
}
