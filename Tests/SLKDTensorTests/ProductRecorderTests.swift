import Testing
import SLKDTensor

/// `ProductRecorder` lists the products ParallelGEMM runs, which the benchmarks' `products_*`
/// cases replay: the shapes must be the products' own, nothing may be recorded outside a
/// recording, and nested recordings must each see their own part.
///
/// The record is process-wide and other suites run products in parallel with these tests, so
/// each test looks only at products of sizes no other test uses (13, 11, 7, ...).
@Suite("Product recorder")
struct ProductRecorderTests {
    /// The products among `shapes` whose sides are exactly `sides`, in any order.
    static func only(_ shapes: [ProductShape], sides: [Int]) -> [ProductShape] {
        shapes.filter { [$0.m, $0.n, $0.k].sorted() == sides.sorted() }
    }

    @Test func recordsTheShapesOfDirectCalls() {
        let (m, n, k) = (13, 3, 17)
        let a = [Float](repeating: 1, count: m * k), b = [Float](repeating: 2, count: k * n)
        var c = [Float](repeating: 0, count: m * n)
        func product(beta: Float, transB: Bool) {
            a.withUnsafeBufferPointer { pa in
                b.withUnsafeBufferPointer { pb in
                    c.withUnsafeMutableBufferPointer { pc in
                        ParallelGEMM.run(transA: false, transB: transB, m: m, n: n, k: k, a: pa.baseAddress!, lda: k,
                                         b: pb.baseAddress!, ldb: transB ? k : n, beta: beta, c: pc.baseAddress!, ldc: n)
                    }
                }
            }
        }
        product(beta: 0, transB: false)   // outside: not recorded
        let shapes = ProductRecorder.recording {
            product(beta: 0, transB: false)
            product(beta: 1, transB: true)
        }
        #expect(Self.only(shapes, sides: [m, n, k]) == [
            ProductShape(transA: false, transB: false, m: m, n: n, k: k, overwrites: true, elementSize: 4, insideRegion: false),
            ProductShape(transA: false, transB: true, m: m, n: n, k: k, overwrites: false, elementSize: 4, insideRegion: false),
        ])
        // 1·2 summed over k = 17, plus the 34 the first product left there for the β = 1 one.
        #expect(c.allSatisfy { $0 == 68 })
    }

    /// A Linear layer's forward is one product of tokens × in × out multiply–adds (fvcore's count,
    /// which MACCounter reports independently); its backward adds the input gradient's and the
    /// weight gradient's, each as large.
    @Test func linearForwardAndBackwardAgreeWithTheMACCount() {
        var g = RandomGenerator(seed: 5)
        let x = Tensor.uniform([2, 13, 11], dtype: .float64, using: &g).requiringGrad()
        let layer = Linear(weight: Tensor.uniform([7, 11], dtype: .float64, using: &g).requiringGrad(),
                           bias: Tensor.uniform([7], dtype: .float64, using: &g))
        var y: Tensor?
        let forward = ProductRecorder.recording { y = layer(x) }
        let counted = MACCounter.count { _ = withoutGradients { layer(x) } }.total
        #expect(counted == 2 * 13 * 11 * 7)
        let mine = forward.filter { Set([26, 13]).contains(Swift.max($0.m, $0.n, $0.k)) && $0.macs % 77 == 0 }
        #expect(mine.map(\.macs).reduce(0, +) == counted)
        #expect(mine.allSatisfy { $0.elementSize == 8 })
        let backward = ProductRecorder.recording { _ = y!.sum().gradients(wrt: [x, layer.weight]) }
        let mineBackward = backward.filter { Set([26, 13]).contains(Swift.max($0.m, $0.n, $0.k)) && $0.macs % 77 == 0 }
        #expect(mineBackward.map(\.macs).reduce(0, +) == 2 * counted)
    }

    /// Products run by the chunks of a parallel region are marked, so that a replay runs them side
    /// by side again instead of splitting each (whether the chunks run in a region depends on
    /// the thread count).
    @Test func productsInsideARegionAreMarked() {
        let a = [Float](repeating: 1, count: 31 * 37), b = [Float](repeating: 1, count: 37 * 41)
        let shapes = ProductRecorder.recording {
            Parallel.forChunks(2, chunksPerThread: 1) { range in
                for _ in range {
                    var c = [Float](repeating: 0, count: 31 * 41)
                    a.withUnsafeBufferPointer { pa in
                        b.withUnsafeBufferPointer { pb in
                            c.withUnsafeMutableBufferPointer { pc in
                                ParallelGEMM.run(transA: false, transB: false, m: 31, n: 41, k: 37, a: pa.baseAddress!,
                                                 lda: 37, b: pb.baseAddress!, ldb: 41, beta: 0, c: pc.baseAddress!, ldc: 41)
                            }
                        }
                    }
                }
            }
        }
        let mine = Self.only(shapes, sides: [31, 37, 41])
        #expect(mine.count == 2)
        #expect(mine.allSatisfy { $0.insideRegion == (Parallel.threadCount > 1) })
    }

    @Test func nestedRecordingsSeeTheirOwnPart() {
        var g = RandomGenerator(seed: 6)
        let a = Tensor.uniform([19, 23], using: &g), b = Tensor.uniform([23, 29], using: &g)
        var inner: [ProductShape] = []
        let outer = ProductRecorder.recording {
            _ = a.matmul(b)
            inner = ProductRecorder.recording { _ = b.transposed().matmul(a.transposed()) }
        }
        let sides = [19, 23, 29]
        #expect(Self.only(inner, sides: sides).map { [$0.m, $0.n, $0.k] } == [[29, 19, 23]])
        #expect(Self.only(outer, sides: sides).map { [$0.m, $0.n, $0.k] } == [[19, 29, 23], [29, 19, 23]])
    }
}
