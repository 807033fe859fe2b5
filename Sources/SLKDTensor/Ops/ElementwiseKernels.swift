import RealModule

// The two kernels every element-wise operation runs through: one input, or two inputs with
// NumPy broadcasting. Both specialise per scalar type and per closure (they are inlined into
// each operation), split large tensors across threads, and take a plain pointer loop whenever
// the operands are contiguous.

/// Elements per thread below which a kernel stays on one thread.
@usableFromInline let elementwiseGrain = 1 << 15

extension Tensor {
    /// Strides that read this tensor as if expanded to `target` (0 on broadcast axes).
    @usableFromInline
    func broadcastStrides(to target: [Int]) -> [Int] {
        var result = [Int](repeating: 0, count: target.count)
        let shift = target.count - rank
        for axis in 0..<rank where shape[axis] != 1 {
            precondition(shape[axis] == target[axis + shift], "cannot broadcast \(shape) to \(target)")
            result[axis + shift] = strides[axis]
        }
        return result
    }

    /// `F` applied to every element, in a new contiguous tensor.
    ///
    /// The function is a type parameter, not a closure: a closure captured by the per-thread
    /// chunk body stays an indirect call per element (measured: 10 ns/element for `add`), while
    /// `F.apply` is specialised and inlined into the loop, which then vectorises.
    @inlinable @inline(__always)
    func unaryMap<T: TensorScalar, F: UnaryScalarFunction>(_: T.Type, _: F.Type) -> Tensor {
        let x = isContiguous ? self : materialize()
        let source = x.basePointer(T.self)
        return Tensor.make(shape, T.self) { out in
            let dst = out.baseAddress!
            Parallel.forChunks(out.count, grain: elementwiseGrain) { range in
                F.apply(source + range.lowerBound, to: dst + range.lowerBound, count: range.count)
            }
        }
    }

    /// `F(a, b)` element by element with broadcasting, in a new contiguous tensor.
    @inlinable @inline(__always)
    static func binaryMap<T: TensorScalar, F: BinaryScalarFunction>(_ a: Tensor, _ b: Tensor, _: T.Type,
                                                                     _: F.Type) -> Tensor {
        guard let shape = Shape.broadcast(a.shape, b.shape) else {
            preconditionFailure("shapes \(a.shape) and \(b.shape) do not broadcast")
        }
        let pa = a.basePointer(T.self), pb = b.basePointer(T.self)
        if a.shape == b.shape && a.isContiguous && b.isContiguous {
            return Tensor.make(shape, T.self) { out in
                let dst = out.baseAddress!
                Parallel.forChunks(out.count, grain: elementwiseGrain) { range in
                    let start = range.lowerBound
                    F.apply(pa + start, pb + start, to: dst + start, count: range.count)
                }
            }
        }
        let loop = StridedLoop(shape: shape, strides: [
            Shape.contiguousStrides(shape), a.broadcastStrides(to: shape), b.broadcastStrides(to: shape),
        ])
        return Tensor.make(shape, T.self) { out in
            let dst = out.baseAddress!
            let sa = loop.innerStrides[1], sb = loop.innerStrides[2]
            loop.forEachPieceInParallel(grain: elementwiseGrain) { offsets, piece in
                let start = piece.lowerBound, n = piece.count
                let d = dst + offsets[0] + start, x = pa + offsets[1] + start * sa, y = pb + offsets[2] + start * sb
                if sa == 1 && sb == 1 {
                    F.apply(x, y, to: d, count: n)
                } else if sa == 1 && sb == 0 {
                    let v = y[0]
                    for i in 0..<n { d[i] = F.apply(x[i], v) }
                } else if sa == 0 && sb == 1 {
                    let u = x[0]
                    for i in 0..<n { d[i] = F.apply(u, y[i]) }
                } else {
                    for i in 0..<n { d[i] = F.apply(x[i * sa], y[i * sb]) }
                }
            }
        }
    }

    /// `f(a, b, c)` element by element with broadcasting (used by `where` and fused rules).
    @inlinable @inline(__always)
    static func ternaryMap<T: TensorScalar>(_ a: Tensor, _ b: Tensor, _ c: Tensor, _: T.Type,
                                            _ f: (T, T, T) -> T) -> Tensor {
        guard let ab = Shape.broadcast(a.shape, b.shape), let shape = Shape.broadcast(ab, c.shape) else {
            preconditionFailure("shapes \(a.shape), \(b.shape) and \(c.shape) do not broadcast")
        }
        let pa = a.basePointer(T.self), pb = b.basePointer(T.self), pc = c.basePointer(T.self)
        let loop = StridedLoop(shape: shape, strides: [
            Shape.contiguousStrides(shape), a.broadcastStrides(to: shape),
            b.broadcastStrides(to: shape), c.broadcastStrides(to: shape),
        ])
        return Tensor.make(shape, T.self) { out in
            let dst = out.baseAddress!
            let sa = loop.innerStrides[1], sb = loop.innerStrides[2], sc = loop.innerStrides[3]
            loop.forEachPieceInParallel(grain: elementwiseGrain) { offsets, piece in
                let start = piece.lowerBound
                let d = dst + offsets[0] + start, x = pa + offsets[1] + start * sa
                let y = pb + offsets[2] + start * sb, z = pc + offsets[3] + start * sc
                for i in 0..<piece.count { d[i] = f(x[i * sa], y[i * sb], z[i * sc]) }
            }
        }
    }

    /// Checks that both operands are floating point of the same type.
    @usableFromInline
    /// `op` is an autoclosure: building the name (`"\(F.self)"`) costs about a microsecond,
    /// which dominates ops on small tensors, and is only needed for the failure message.
    static func commonFloatType(_ a: Tensor, _ b: Tensor, _ op: @autoclosure () -> String) -> DType {
        precondition(a.dtype == b.dtype, "\(op()): dtypes differ (\(a.dtype) and \(b.dtype))")
        precondition(a.dtype.isFloatingPoint, "\(op()) needs floating-point tensors, got \(a.dtype)")
        return a.dtype
    }
}

/// A scalar function of one variable, written once for every ``TensorScalar``.
public protocol UnaryScalarFunction {
    static func apply<T: TensorScalar>(_ x: T) -> T
    /// `apply` over `count` contiguous elements. The default loops over `apply`; a function
    /// with a vectorised form implements it, with results identical to `apply` except float32
    /// sigmoid and tanh, whose C kernels have their own bounds (``SIMDPath``).
    static func apply<T: TensorScalar>(_ source: UnsafePointer<T>, to destination: UnsafeMutablePointer<T>, count: Int)
}

extension UnaryScalarFunction {
    @inlinable @inline(__always)
    public static func apply<T: TensorScalar>(_ source: UnsafePointer<T>, to destination: UnsafeMutablePointer<T>,
                                              count: Int) {
        for i in 0..<count { destination[i] = apply(source[i]) }
    }
}

/// A scalar function of two variables, written once for every ``TensorScalar``.
public protocol BinaryScalarFunction {
    static func apply<T: TensorScalar>(_ x: T, _ y: T) -> T
    /// `apply` over `count` contiguous pairs. The default loops over `apply`; a function with a
    /// vectorised form (the GELU backward and gate) implements it, with results identical to `apply`.
    static func apply<T: TensorScalar>(_ x: UnsafePointer<T>, _ y: UnsafePointer<T>,
                                       to destination: UnsafeMutablePointer<T>, count: Int)
}

extension BinaryScalarFunction {
    @inlinable @inline(__always)
    public static func apply<T: TensorScalar>(_ x: UnsafePointer<T>, _ y: UnsafePointer<T>,
                                              to destination: UnsafeMutablePointer<T>, count: Int) {
        for i in 0..<count { destination[i] = apply(x[i], y[i]) }
    }
}

extension Tensor {
    /// `F` applied to every element (no gradient recorded).
    @inlinable
    public func map<F: UnaryScalarFunction>(_: F.Type) -> Tensor {
        // Through a generic function, not `unaryMap` itself: see `DType.withFloatType`.
        func run<T: TensorScalar>(_: T.Type) -> Tensor { unaryMap(T.self, F.self) }
        return dtype.withFloatType("element-wise math") { run($0) }
    }

    /// `F(a, b)` with broadcasting (no gradient recorded).
    @inlinable
    public static func zip<F: BinaryScalarFunction>(_ a: Tensor, _ b: Tensor, _: F.Type) -> Tensor {
        func run<T: TensorScalar>(_: T.Type) -> Tensor { binaryMap(a, b, T.self, F.self) }
        return commonFloatType(a, b, "\(F.self)").withFloatType { run($0) }
    }
}
