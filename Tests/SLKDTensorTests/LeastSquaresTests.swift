import SLKDTestSupport
import Testing

import SLKDTensor

/// `LeastSquares.solve` (LAPACK dgelsd) against closed forms.
@Suite("Least squares (LAPACKE)")
struct LeastSquaresTests {
    @Test func recoversAKnownMatrixExactly() throws {
        var g = RandomGenerator(seed: 11)
        let a = Tensor.normal([40, 4], dtype: .float64, using: &g)
        let x = Tensor(shape: [4, 2], scalars: [1.5, -2.0, 0.25, 3.0, -1.0, 0.5, 2.0, -0.75])
        let solution = try LeastSquares.solve(a, a.matmul(x))
        #expect(solution.rank == 4)
        #expect(solution.x.shape == [4, 2])
        for (got, want) in zip(solution.x.doubles, x.doubles) { #expect(abs(got - want) < 1e-12) }
    }

    @Test func matchesTheNormalEquationsOnNoisyData() throws {
        var g = RandomGenerator(seed: 5)
        let a = Tensor.normal([30, 3], dtype: .float64, using: &g), b = Tensor.normal([30], dtype: .float64, using: &g)
        let rows = (0..<30).map { i in Array(a.doubles[(3 * i)..<(3 * i + 3)]) }
        let expected = normalEquationsSolution(rows, b.doubles)
        let solution = try LeastSquares.solve(a, b)
        #expect(solution.x.shape == [3, 1])
        for (got, want) in zip(solution.x.doubles, expected) { #expect(abs(got - want) < 1e-10 * max(1, abs(want))) }
    }

    @Test func lineThroughThreePoints() throws {
        // y = 2x + 1 at x = 0, 1, 2, and one point off the line at x = 3 (y = 8 instead of 7):
        // the closed form for a straight-line fit gives slope 2.3, intercept 0.8.
        let a = Tensor(shape: [4, 2], scalars: [0.0, 1, 1, 1, 2, 1, 3, 1])
        let b = Tensor(shape: [4, 1], scalars: [1.0, 3, 5, 8])
        let x = try LeastSquares.solve(a, b).x.doubles
        #expect(abs(x[0] - 2.3) < 1e-12 && abs(x[1] - 0.8) < 1e-12)
    }

    @Test func rankDeficientGivesTheMinimumNormSolution() throws {
        // Two identical columns: every x with x0 + x1 = 2 fits b = 2a exactly; the smallest is (1, 1).
        let column: [Double] = [1, 2, 3, 4, 5]
        let a = Tensor(shape: [5, 2], scalars: column.flatMap { [$0, $0] })
        let solution = try LeastSquares.solve(a, Tensor(shape: [5], scalars: column.map { 2 * $0 }))
        #expect(solution.rank == 1)
        for v in solution.x.doubles { #expect(abs(v - 1) < 1e-12) }
    }

    @Test func float32InputsAreSolvedInFloat64() throws {
        let a = Tensor(shape: [3, 1], scalars: [Float(1), 2, 3]), b = Tensor(shape: [3, 1], scalars: [Float(2), 4, 6])
        let x = try LeastSquares.solve(a, b).x
        #expect(x.dtype == .float64 && abs(x.doubles[0] - 2) < 1e-14)
    }

    @Test func nonFiniteInputIsAnError() {
        let a = Tensor(shape: [2, 1], scalars: [1.0, .nan]), b = Tensor(shape: [2, 1], scalars: [1.0, 2])
        let error = #expect(throws: LeastSquaresError.self) { try LeastSquares.solve(a, b) }
        #expect(error?.description == "least squares: A or B holds a non-finite value")
    }
}
