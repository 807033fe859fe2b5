/// An n-dimensional array of `Float`, `Double` or `Int64` with reverse-mode autograd.
///
/// A tensor is a view — ``shape``, ``strides`` and an element ``offset`` — over an immutable
/// shared buffer, so `transpose`, `permute`, `expand`, slicing and reshapes of contiguous data
/// copy nothing, and a tensor behaves as a value: no operation changes an existing tensor.
///
/// Operations on tensors that ``requiresGrad`` record a graph; ``gradients(wrt:seed:retainGraph:)`` or
/// ``backward(seed:retainGraph:)`` walks it backwards.
///
/// ```swift
/// let x = Tensor(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6] as [Double]).requiringGrad()
/// let loss = (x * x).sum()
/// let dx = loss.gradients(wrt: [x])[0]   // 2·x
/// ```
public struct Tensor: @unchecked Sendable {
    @usableFromInline let storage: TensorStorage
    /// The size along each axis.
    public let shape: [Int]
    /// The distance in elements between neighbours along each axis (0 for a broadcast axis).
    public let strides: [Int]
    /// The index of the first element in the underlying buffer.
    public let offset: Int
    @usableFromInline var gradNode: GradNode?

    @usableFromInline
    init(storage: TensorStorage, shape: [Int], strides: [Int], offset: Int, gradNode: GradNode? = nil) {
        self.storage = storage
        self.shape = shape
        self.strides = strides
        self.offset = offset
        self.gradNode = gradNode
    }

    /// Wraps a freshly allocated contiguous storage.
    @usableFromInline
    init(contiguous storage: TensorStorage, shape: [Int]) {
        self.init(storage: storage, shape: shape, strides: Shape.contiguousStrides(shape), offset: 0)
    }

    /// The element type.
    @inlinable public var dtype: DType { storage.dtype }
    /// The number of axes.
    @inlinable public var rank: Int { shape.count }
    /// The number of elements.
    @inlinable public var count: Int { Shape.count(shape) }
    /// Whether the elements lie in row-major order without gaps, starting at ``offset``.
    public var isContiguous: Bool { Shape.isContiguous(shape: shape, strides: strides) }
    /// Whether gradients flow to this tensor (it is a leaf made with ``requiringGrad()`` or the
    /// result of an operation on such a tensor while gradients are recorded).
    @inlinable public var requiresGrad: Bool { gradNode != nil }
}

// MARK: - Creation

extension Tensor {
    /// A tensor holding `scalars` in row-major order.
    public init<T: TensorScalar>(shape: [Int], scalars: [T]) {
        precondition(Shape.count(shape) == scalars.count,
                     "Tensor(shape: \(shape)) needs \(Shape.count(shape)) scalars, got \(scalars.count)")
        precondition(shape.allSatisfy { $0 >= 0 }, "negative dimension in shape \(shape)")
        let storage = TensorStorage(count: scalars.count, dtype: T.dtype)
        scalars.withUnsafeBufferPointer { source in
            storage.typed(T.self).update(from: source.baseAddress!, count: scalars.count)
        }
        self.init(contiguous: storage, shape: shape)
    }

    /// A one-dimensional tensor of `scalars`.
    public init<T: TensorScalar>(_ scalars: [T]) {
        self.init(shape: [scalars.count], scalars: scalars)
    }

    /// A tensor of `int64` indices.
    public init(shape: [Int], indices: [Int]) {
        precondition(Shape.count(shape) == indices.count,
                     "Tensor(shape: \(shape)) needs \(Shape.count(shape)) indices, got \(indices.count)")
        let storage = TensorStorage(count: indices.count, dtype: .int64)
        let pointer = storage.typed(Int64.self)
        for (i, value) in indices.enumerated() { pointer[i] = Int64(value) }
        self.init(contiguous: storage, shape: shape)
    }

    /// A tensor with every element equal to `value`.
    public init(repeating value: Double, shape: [Int], dtype: DType = .float32) {
        let storage = TensorStorage(count: Shape.count(shape), dtype: dtype)
        let n = Shape.count(shape)
        func fill<T: TensorElement>(_: T.Type) { storage.typed(T.self).initialize(repeating: T(value), count: n) }
        dtype.withElementType { fill($0) }
        self.init(contiguous: storage, shape: shape)
    }

    /// A rank-0 tensor holding `value`.
    public init(scalar value: Double, dtype: DType = .float32) {
        self.init(repeating: value, shape: [], dtype: dtype)
    }

    /// Zeros of the given shape.
    public static func zeros(_ shape: [Int], dtype: DType = .float32) -> Tensor {
        Tensor(repeating: 0, shape: shape, dtype: dtype)
    }

    /// Ones of the given shape.
    public static func ones(_ shape: [Int], dtype: DType = .float32) -> Tensor {
        Tensor(repeating: 1, shape: shape, dtype: dtype)
    }

    /// Zeros with this tensor's shape and type.
    public func zerosLike() -> Tensor { .zeros(shape, dtype: dtype) }
    /// Ones with this tensor's shape and type.
    public func onesLike() -> Tensor { .ones(shape, dtype: dtype) }

    /// `0, 1, …, n-1`.
    public static func arange(_ n: Int, dtype: DType = .float32) -> Tensor {
        switch dtype {
        case .float32: Tensor(shape: [n], scalars: (0..<n).map { Float($0) })
        case .float64: Tensor(shape: [n], scalars: (0..<n).map { Double($0) })
        case .int64: Tensor(shape: [n], indices: Array(0..<n))
        }
    }

    /// Allocates a contiguous tensor and lets `fill` write every element once.
    @inlinable
    static func make<T>(_ shape: [Int], _: T.Type, dtype: DType,
                        _ fill: (UnsafeMutableBufferPointer<T>) -> Void) -> Tensor {
        let n = Shape.count(shape)
        let storage = TensorStorage(count: n, dtype: dtype)
        fill(UnsafeMutableBufferPointer(start: storage.typed(T.self), count: n))
        return Tensor(contiguous: storage, shape: shape)
    }

    /// A new contiguous tensor and its element buffer, for kernels outside this module that
    /// fill several outputs in one pass. The caller must write every element before the tensor
    /// is read or shared, and must not write after that.
    package static func uninitialized<T: TensorScalar>(_ shape: [Int], _: T.Type) -> (Tensor, UnsafeMutableBufferPointer<T>) {
        let storage = TensorStorage(count: Shape.count(shape), dtype: T.dtype)
        return (Tensor(contiguous: storage, shape: shape),
                UnsafeMutableBufferPointer(start: storage.typed(T.self), count: Shape.count(shape)))
    }

    /// Allocates a contiguous floating-point tensor and lets `fill` write every element once.
    @inlinable
    static func make<T: TensorScalar>(_ shape: [Int], _: T.Type,
                                      _ fill: (UnsafeMutableBufferPointer<T>) -> Void) -> Tensor {
        make(shape, T.self, dtype: T.dtype, fill)
    }
}

// MARK: - Reading elements

extension Tensor {
    /// The elements in row-major order, converted to `T`.
    public func scalars<T: TensorScalar>(as _: T.Type = T.self) -> [T] {
        let c = contiguous()
        let n = c.count
        switch c.dtype {
        case .float32:
            let p = c.storage.typed(Float.self) + c.offset
            return (0..<n).map { T(p[$0]) }
        case .float64:
            let p = c.storage.typed(Double.self) + c.offset
            return (0..<n).map { T(p[$0]) }
        case .int64:
            let p = c.storage.typed(Int64.self) + c.offset
            return (0..<n).map { T(p[$0]) }
        }
    }

    /// The elements in row-major order as `Double`.
    public var doubles: [Double] { scalars(as: Double.self) }
    /// The elements in row-major order as `Float`.
    public var floats: [Float] { scalars(as: Float.self) }

    /// The elements in row-major order as integers (any dtype; floats are truncated).
    public var integers: [Int] {
        let c = contiguous()
        if c.dtype == .int64 {
            let p = c.storage.typed(Int64.self) + c.offset
            return (0..<c.count).map { Int(p[$0]) }
        }
        return c.doubles.map { Int($0) }
    }

    /// The single element of a one-element tensor.
    public var item: Double {
        precondition(count == 1, "item needs a one-element tensor, shape is \(shape)")
        return doubles[0]
    }

    /// Runs `body` over the contiguous elements of this tensor (copying first when it is a view).
    @inlinable
    public func withContiguousScalars<T, R>(_: T.Type, _ body: (UnsafeBufferPointer<T>) throws -> R) rethrows -> R {
        let c = contiguous()
        precondition(MemoryLayout<T>.size == c.dtype.byteSize, "element type mismatch: tensor is \(c.dtype)")
        return try body(UnsafeBufferPointer(start: c.storage.typed(T.self) + c.offset, count: c.count))
    }

    /// A pointer to element 0 of this view; valid while the tensor is alive.
    @inlinable
    func basePointer<T>(_: T.Type) -> UnsafeMutablePointer<T> { storage.typed(T.self) + offset }
}

extension Tensor: CustomStringConvertible {
    public var description: String {
        let values = count <= 64 ? "\(doubles)" : "[\(count) elements]"
        return "Tensor<\(dtype)>\(shape)\(requiresGrad ? " requiresGrad" : ""): \(values)"
    }
}
