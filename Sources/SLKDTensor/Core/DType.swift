import RealModule

/// The element type of a ``Tensor``.
///
/// Models train in `float32`; gradient checks and image statistics run in `float64`.
/// `int64` holds indices (``Tensor/argmax(axis:keepDims:)``, gather indices, Uformer's
/// `relative_position_index` buffers) and takes part in no arithmetic.
public enum DType: String, Sendable, Hashable, CustomStringConvertible {
    case float32
    case float64
    case int64

    /// Bytes per element.
    public var byteSize: Int {
        switch self {
        case .float32: 4
        case .float64, .int64: 8
        }
    }

    public var isFloatingPoint: Bool { self != .int64 }

    public var description: String { rawValue }
}

/// A floating-point element type that tensor kernels are written over.
///
/// Only `Float` and `Double` conform. Kernels are generic over this protocol and get specialised
/// by the optimiser for both, so one source serves Float32 and Float64 (`SIMDScalar`: some
/// kernels, Adam's step among them, run in SIMD vectors). `Codable` is implied already
/// (`SIMDScalar`'s storage types need `Codable` scalars); Swift 6.3 warns unless it is stated.
public protocol TensorScalar: Real, BinaryFloatingPoint, SIMDScalar, Sendable, Codable
where RawSignificand: FixedWidthInteger {
    /// The ``DType`` tag of this scalar type.
    static var dtype: DType { get }
}

extension Float: TensorScalar {
    public static var dtype: DType { .float32 }
}

extension Double: TensorScalar {
    public static var dtype: DType { .float64 }
}
