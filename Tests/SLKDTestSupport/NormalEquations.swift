/// The full-rank least-squares solution of A·x ≈ b by the normal equations AᵀA·x = Aᵀb, solved
/// by Gaussian elimination with partial pivoting in Float64: a route independent of LAPACK's
/// SVD, for checking `LeastSquares` and the SCM's least-squares start.
///
/// - Parameters:
///   - a: the rows of A (each of the same length n).
///   - b: the right-hand side, one value per row.
public func normalEquationsSolution(_ a: [[Double]], _ b: [Double]) -> [Double] {
    let n = a[0].count
    var m = (0..<n).map { i in
        (0..<n).map { j in a.indices.reduce(0.0) { $0 + a[$1][i] * a[$1][j] } } + [a.indices.reduce(0.0) { $0 + a[$1][i] * b[$1] }]
    }
    for col in 0..<n {
        let pivot = (col..<n).max { abs(m[$0][col]) < abs(m[$1][col]) }!
        m.swapAt(col, pivot)
        for row in 0..<n where row != col {
            let f = m[row][col] / m[col][col]
            for j in col...n { m[row][j] -= f * m[col][j] }
        }
    }
    return (0..<n).map { m[$0][n] / m[$0][$0] }
}
