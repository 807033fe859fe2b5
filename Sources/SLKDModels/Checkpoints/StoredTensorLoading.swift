extension StoredTensor {
    /// The number of elements of the view (0 when the sizes overflow, which loading refuses).
    public var count: Int { Shape.checkedCount(shape) ?? 0 }

    /// The largest view accepted over a smaller storage (stride-0 broadcast), in elements.
    static let maximumBroadcastCount = 1 << 24

    /// Checks that the view is well formed and stays inside its storage, without overflow.
    func validate() throws {
        guard shape.count == strides.count else {
            throw CheckpointError.invalidTensor("size \(shape) and stride \(strides) have different ranks")
        }
        guard shape.allSatisfy({ $0 >= 0 }), strides.allSatisfy({ $0 >= 0 }), storageOffset >= 0 else {
            throw CheckpointError.invalidTensor(
                "negative size, stride or offset (size \(shape), stride \(strides), offset \(storageOffset))")
        }
        // Every nonzero size counts: a leading 0 must not hide an overflow the strides would hit.
        // Widening to float32 or int64 must stay addressable; a 2^31-element tensor is beyond any checkpoint here.
        guard let elements = Shape.checkedCount(shape), elements <= Int(Int32.max),
              shape.allSatisfy({ $0 <= Int(Int32.max) }) else {
            throw CheckpointError.invalidTensor("size \(shape) has too many elements")
        }
        // Stride-0 (broadcast) views can be larger than their storage; materialising one copies it,
        // so a corrupt size must not turn a 1-element storage into gigabytes.
        guard elements <= max(storageCount, Self.maximumBroadcastCount) else {
            throw CheckpointError.invalidTensor(
                "size \(shape) (\(elements) elements) is a broadcast view far larger than its \(storageCount)-element storage")
        }
        guard elements > 0 else { return }
        // The last element read is offset + Σ (size − 1)·stride; it must lie inside the storage.
        var last = storageOffset
        for (size, stride) in zip(shape, strides) {
            let (step, o1) = (size - 1).multipliedReportingOverflow(by: stride)
            let (sum, o2) = last.addingReportingOverflow(step)
            guard !o1, !o2 else { throw CheckpointError.invalidTensor("size \(shape) and stride \(strides) overflow") }
            last = sum
        }
        guard last < storageCount else {
            throw CheckpointError.storageTooSmall(key: storageKey, needed: last + 1, available: storageCount)
        }
    }

    /// Reads the view out of the storage's raw little-endian bytes into a contiguous tensor,
    /// widening half precision to float32 and small integers to int64.
    func materialize(from record: ArraySlice<UInt8>) throws -> Tensor {
        let (needed, overflow) = storageCount.multipliedReportingOverflow(by: storageType.byteSize)
        guard !overflow, record.count >= needed else {
            throw CheckpointError.storageTooSmall(key: storageKey, needed: storageCount,
                                                  available: record.count / storageType.byteSize)
        }
        try validate()
        return record.withUnsafeBytes { raw in
            switch storageType {
            case .float:
                return Tensor(shape: shape, scalars: gather(raw) { raw.loadUnaligned(fromByteOffset: 4 * $0, as: Float.self) })
            case .double:
                return Tensor(shape: shape, scalars: gather(raw) { raw.loadUnaligned(fromByteOffset: 8 * $0, as: Double.self) })
            case .half:
                return Tensor(shape: shape, scalars: gather(raw) {
                    Self.floatFromHalf(raw.loadUnaligned(fromByteOffset: 2 * $0, as: UInt16.self))
                })
            case .bfloat16:
                return Tensor(shape: shape, scalars: gather(raw) {
                    Float(bitPattern: UInt32(raw.loadUnaligned(fromByteOffset: 2 * $0, as: UInt16.self)) << 16)
                })
            case .long:
                return Tensor(shape: shape, indices: gather(raw) { Int(raw.loadUnaligned(fromByteOffset: 8 * $0, as: Int64.self)) })
            case .int:
                return Tensor(shape: shape, indices: gather(raw) { Int(raw.loadUnaligned(fromByteOffset: 4 * $0, as: Int32.self)) })
            case .short:
                return Tensor(shape: shape, indices: gather(raw) { Int(raw.loadUnaligned(fromByteOffset: 2 * $0, as: Int16.self)) })
            case .char:
                return Tensor(shape: shape, indices: gather(raw) { Int(raw.load(fromByteOffset: $0, as: Int8.self)) })
            case .byte, .bool:
                return Tensor(shape: shape, indices: gather(raw) { Int(raw[$0]) })
            }
        }
    }

    /// Visits the view's storage indices in row-major order: an odometer over the outer axes and
    /// a plain loop along the last one, which for a stride-0 (broadcast) axis is a fill, so that
    /// the largest views the budget admits take milliseconds, not seconds.
    private func gather<T>(_ raw: UnsafeRawBufferPointer, _ element: (Int) -> T) -> [T] {
        let n = count
        guard n > 0 else { return [] }
        var result = [T]()
        result.reserveCapacity(n)
        if Shape.isContiguous(shape: shape, strides: strides) {
            for i in storageOffset..<(storageOffset + n) { result.append(element(i)) }
            return result
        }
        // Not contiguous, so the rank is at least 1.
        let outerRank = shape.count - 1
        let inner = shape[outerRank], innerStride = strides[outerRank]
        var index = [Int](repeating: 0, count: outerRank)
        var position = storageOffset
        for _ in 0..<(n / inner) {
            if innerStride == 0 {
                result.append(contentsOf: repeatElement(element(position), count: inner))
            } else {
                var p = position
                for _ in 0..<inner {
                    result.append(element(p))
                    p += innerStride
                }
            }
            var axis = outerRank - 1
            while axis >= 0 {
                index[axis] += 1
                position += strides[axis]
                if index[axis] < shape[axis] { break }
                position -= strides[axis] * shape[axis]
                index[axis] = 0
                axis -= 1
            }
        }
        return result
    }

    /// IEEE 754 binary16 → binary32, exact (subnormals, infinities and NaN included).
    static func floatFromHalf(_ h: UInt16) -> Float {
        let sign = UInt32(h & 0x8000) << 16
        let exponent = Int(h >> 10) & 0x1F
        let mantissa = UInt32(h & 0x03FF)
        switch exponent {
        case 0:
            // Subnormal (or zero): mantissa · 2^-24.
            let magnitude = Float(mantissa) * 0x1p-24
            return sign == 0 ? magnitude : -magnitude
        case 0x1F:
            return Float(bitPattern: sign | 0x7F80_0000 | mantissa << 13)
        default:
            return Float(bitPattern: sign | UInt32(exponent + 112) << 23 | mantissa << 13)
        }
    }
}
