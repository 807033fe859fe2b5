// Ops that normalise along one axis (LayerNorm, channel LayerNorm, L2 normalisation, softmax)
// view a contiguous tensor as [outer, size, inner]: a "lane" is the `size` elements of one
// (outer, inner) position, `inner` apart. Lanes are processed in blocks of neighbouring inner
// positions so that the loops over a block run over contiguous memory (NCHW channel norms then
// stream whole channel rows instead of striding by H·W).

/// A contiguous tensor seen as [outer, size, inner] around one axis.
@usableFromInline
struct AxisLanes {
    let outer: Int, size: Int, inner: Int

    init(shape: [Int], axis: Int) {
        let a = Shape.axis(axis, rank: shape.count)
        outer = shape[..<a].reduce(1, *)
        size = shape[a]
        inner = shape[(a + 1)...].reduce(1, *)
    }

    /// The widest block of lanes handled together.
    static let blockWidth = 256

    /// The index of the first lane of the block at `base` (lanes numbered o·inner + i): a block
    /// starts at base = o·size·inner + i, and its lane j is this index + j.
    func firstLane(ofBlockAt base: Int) -> Int {
        (base / (size * inner)) * inner + base % (size * inner)
    }

    /// Runs `body(base, lanes)` for every block, in parallel: element `c` of lane `j` of a block
    /// lies at `base + c·inner + j`. `scratch` gives the body `scratchPerLane·lanes` temporaries.
    func forEachBlock<T: TensorScalar>(_: T.Type, scratchPerLane: Int,
                                       _ body: (_ base: Int, _ lanes: Int, _ scratch: UnsafeMutablePointer<T>) -> Void) {
        let blocksPerOuter = (inner + Self.blockWidth - 1) / Self.blockWidth
        let tasks = outer * blocksPerOuter
        let work = Swift.max(1, size * Swift.min(inner, Self.blockWidth))
        Parallel.forChunks(tasks, grain: Swift.max(1, 8_192 / work)) { range in
            let scratch = UnsafeMutablePointer<T>.allocate(capacity: Swift.max(1, scratchPerLane * Self.blockWidth))
            defer { scratch.deallocate() }
            for t in range {
                let o = t / blocksPerOuter, start = (t % blocksPerOuter) * Self.blockWidth
                body(o * size * inner + start, Swift.min(Self.blockWidth, inner - start), scratch)
            }
        }
    }
}
