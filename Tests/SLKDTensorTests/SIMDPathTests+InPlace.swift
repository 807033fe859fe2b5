import CSLKDKernels
import Testing
import SLKDTensor

/// exp and sigmoid read a separate source straight and an in-place one through a copy of each
/// block (MathBodies.h); both ways must give every element the same bits.
extension SIMDPathTests {
    @Test("exp and sigmoid give the same bits in place as from a separate source, at every length",
          arguments: SIMDPath.supported)
    func expAndSigmoidInPlace(_ path: SIMDPath) {
        let xs = Self.inputs
        let kernels: [(name: String, run: (UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int) -> Void)] = [
            ("exp", { slkd_exp_f32($0, $1, $2) }), ("sigmoid", { slkd_sigmoid_f32($0, $1, $2) }),
        ]
        SIMDPath.withPath(path) {
            for kernel in kernels {
                // Lengths across the block of 64 (partial, whole, whole plus a tail) and the whole input.
                for n in Array(1...200) + [xs.count] {
                    let start = (n * 37) % (xs.count - n + 1)
                    let source = Array(xs[start..<(start + n)])
                    var separate = [Float](repeating: 0, count: n), inPlace = source
                    source.withUnsafeBufferPointer { s in
                        separate.withUnsafeMutableBufferPointer { kernel.run(s.baseAddress!, $0.baseAddress!, n) }
                    }
                    inPlace.withUnsafeMutableBufferPointer { kernel.run(UnsafePointer($0.baseAddress!), $0.baseAddress!, n) }
                    let differ = (0..<n).filter {
                        separate[$0].bitPattern != inPlace[$0].bitPattern && !(separate[$0].isNaN && inPlace[$0].isNaN)
                    }
                    #expect(differ.isEmpty, "\(kernel.name), length \(n) on \(path): \(differ.count) differ")
                }
            }
        }
    }
}
