// One place that turns a tensor's runtime `DType` into the Swift type its kernels are generic
// over, instead of a `switch dtype` with one arm per type at every kernel.
//
//     x.dtype.withFloatType("softmax") { forward(x, lanes, $0) }
//
// `$0` is an existential metatype (`any TensorScalar.Type`); passing it to a generic
// `forward<T>(_:_:_: T.Type)` opens it (SE-0352). Because the helper is inlined, the optimiser
// sees the concrete `Float.self` / `Double.self` in each arm and calls the kernel specialised for
// it, exactly as the hand-written switch did: no generic code runs in the loops.
//
// One rule keeps that true: the body calls a generic function that is not `@inline(__always)`
// (a kernel, or a local `func run<T>`). An always-inlined kernel would be inlined into the body
// while `T` is still the opened existential, and its inner calls would stay unspecialised.

/// An element type a tensor's storage can hold: `Float`, `Double` or `Int64`.
///
/// Kernels that only move elements (copies, gathers, concatenation) are generic over it.
@usableFromInline
package protocol TensorElement {
    /// `value` converted as `Float(value)`, `Double(value)` or `Int64(value)` (a fill value).
    init(_ value: Double)
}

extension Float: TensorElement {}
extension Double: TensorElement {}
extension Int64: TensorElement {}

extension DType {
    /// Calls `body` with this floating-point dtype's scalar type, `Float.self` or `Double.self`.
    ///
    /// - Parameter operation: names the caller in the failure message for `int64`, which holds
    ///   indices only and takes part in no arithmetic.
    @inlinable @inline(__always)
    package func withFloatType<R>(_ operation: @autoclosure () -> String = "this operation",
                                  _ body: (any TensorScalar.Type) throws -> R) rethrows -> R {
        switch self {
        case .float32: try body(Float.self)
        case .float64: try body(Double.self)
        case .int64: preconditionFailure("\(operation()) needs a floating-point tensor, not int64")
        }
    }

    /// Calls `body` with this dtype's element type, `Float.self`, `Double.self` or `Int64.self`.
    @inlinable @inline(__always)
    package func withElementType<R>(_ body: (any TensorElement.Type) throws -> R) rethrows -> R {
        switch self {
        case .float32: try body(Float.self)
        case .float64: try body(Double.self)
        case .int64: try body(Int64.self)
        }
    }
}
