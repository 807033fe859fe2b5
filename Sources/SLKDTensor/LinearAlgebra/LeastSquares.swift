import CSLKDLapacke

/// Why a least-squares solve failed.
public struct LeastSquaresError: Error, Equatable, Sendable, CustomStringConvertible {
    public let description: String
}

/// Linear least squares through LAPACK (LAPACKE, OpenBLAS's LAPACK underneath).
public enum LeastSquares {
    /// The result of ``solve(_:_:rcond:)``.
    public struct Solution: Sendable {
        /// X, `n×k` in Float64: the minimiser of ‖A·X − B‖ (Frobenius norm), of minimum norm when
        /// A is rank-deficient.
        public let x: Tensor
        /// The effective rank of A: singular values at or below `rcond` × the largest count as zero.
        public let rank: Int
    }

    /// Solves min over X of ‖A·X − B‖ with LAPACK's `dgelsd` (SVD with divide and conquer) in
    /// Float64, whatever the inputs' dtype.
    ///
    /// The SVD driver rather than QR (`dgels`): features often have dead or duplicated channels,
    /// and `dgelsd` then returns the minimum-norm solution instead of failing.
    ///
    /// - Parameters:
    ///   - a: `m×n`, any floating-point dtype.
    ///   - b: `m×k` (or a vector of `m`, read as `m×1`).
    ///   - rcond: relative threshold below which singular values are treated as zero; negative
    ///     means machine precision (LAPACK's convention).
    /// - Throws: ``LeastSquaresError`` when an input holds a non-finite value or the SVD does not
    ///   converge.
    public static func solve(_ a: Tensor, _ b: Tensor, rcond: Double = -1) throws -> Solution {
        precondition(a.rank == 2, "least squares: A must be m×n, got \(a.shape)")
        precondition(b.rank == 1 || b.rank == 2, "least squares: B must be m×k or m, got \(b.shape)")
        let (m, n) = (a.shape[0], a.shape[1])
        let k = b.rank == 2 ? b.shape[1] : 1
        precondition(b.shape[0] == m, "least squares: A has \(m) rows but B has \(b.shape[0])")
        precondition(m > 0 && n > 0 && k > 0, "least squares: empty system \(a.shape), \(b.shape)")
        var matrix = a.doubles
        let rhs = b.doubles
        guard matrix.allSatisfy(\.isFinite), rhs.allSatisfy(\.isFinite) else {
            throw LeastSquaresError(description: "least squares: A or B holds a non-finite value")
        }
        // dgelsd overwrites B, which must have max(m, n) rows: the solution is its first n rows.
        var solution = [Double](repeating: 0, count: Swift.max(m, n) * k)
        solution.replaceSubrange(0..<(m * k), with: rhs)
        var singular = [Double](repeating: 0, count: Swift.min(m, n))
        var rank: Int32 = 0  // lapack_int, a C macro Swift does not import (int32_t in LP64 builds)
        let info = LAPACKE_dgelsd(LAPACK_ROW_MAJOR, Int32(m), Int32(n), Int32(k), &matrix, Int32(n),
                                  &solution, Int32(k), &singular, rcond, &rank)
        precondition(info >= 0, "LAPACKE_dgelsd: argument \(-info) is invalid")
        guard info == 0 else {
            throw LeastSquaresError(description: "least squares: the SVD did not converge (\(info) off-diagonal elements)")
        }
        return Solution(x: Tensor(shape: [n, k], scalars: Array(solution.prefix(n * k))), rank: Int(rank))
    }
}
