/// Shape arithmetic shared by every operation.
public enum Shape {
    /// The number of elements of a shape (1 for a scalar).
    @inlinable
    public static func count(_ shape: [Int]) -> Int { shape.reduce(1, *) }

    /// The number of elements of a shape read from a file, or nil when a size is negative or the
    /// product of the nonzero sizes overflows `Int`.
    ///
    /// A zero anywhere makes the count 0, but the other sizes still become strides
    /// (``contiguousStrides(_:)`` multiplies them from the last axis), so `[0, 2^40, 2^40]` must be
    /// refused too: the overflow is checked over every nonzero size, not stopped at the first 0.
    public static func checkedCount(_ shape: [Int]) -> Int? {
        var product = 1
        var hasZero = false
        for size in shape {
            guard size >= 0 else { return nil }
            if size == 0 { hasZero = true; continue }
            let (next, overflow) = product.multipliedReportingOverflow(by: size)
            guard !overflow else { return nil }
            product = next
        }
        return hasZero ? 0 : product
    }

    /// Row-major strides of a contiguous tensor.
    @inlinable
    public static func contiguousStrides(_ shape: [Int]) -> [Int] {
        var strides = [Int](repeating: 1, count: shape.count)
        var running = 1
        for axis in stride(from: shape.count - 1, through: 0, by: -1) {
            strides[axis] = running
            running *= shape[axis]
        }
        return strides
    }

    /// Whether `strides` describe a gap-free row-major layout of `shape`.
    @inlinable
    public static func isContiguous(shape: [Int], strides: [Int]) -> Bool {
        var expected = 1
        for axis in stride(from: shape.count - 1, through: 0, by: -1) where shape[axis] != 1 {
            if strides[axis] != expected { return false }
            expected *= shape[axis]
        }
        return true
    }

    /// The NumPy broadcast of two shapes, or nil when they are incompatible.
    public static func broadcast(_ a: [Int], _ b: [Int]) -> [Int]? {
        let rank = Swift.max(a.count, b.count)
        var result = [Int](repeating: 1, count: rank)
        for i in 0..<rank {
            let da = i < rank - a.count ? 1 : a[i - (rank - a.count)]
            let db = i < rank - b.count ? 1 : b[i - (rank - b.count)]
            if da == db || db == 1 { result[i] = da } else if da == 1 { result[i] = db } else { return nil }
        }
        return result
    }

    /// Normalises a possibly negative axis.
    @inlinable
    public static func axis(_ axis: Int, rank: Int) -> Int {
        let a = axis < 0 ? axis + rank : axis
        precondition(a >= 0 && a < Swift.max(rank, 1), "axis \(axis) out of range for rank \(rank)")
        return a
    }
}
