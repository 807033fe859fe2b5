import Foundation
import Testing
import SLKDTensor

/// Largest |a − b| − rtol·|b| over two equal-length arrays (≤ atol means "close").
private func expectClose(_ a: [Double], _ b: [Double], rtol: Double = 1e-12, atol: Double = 1e-12,
                         _ what: String = "", sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(a.count == b.count, "\(what): \(a.count) values, expected \(b.count)", sourceLocation: sourceLocation)
    for (i, (x, y)) in zip(a, b).enumerated() where !(Swift.abs(x - y) <= atol + rtol * Swift.abs(y)) {
        Issue.record("\(what)[\(i)] = \(x), expected \(y)", sourceLocation: sourceLocation)
        return
    }
}

@Suite("Autograd engine", .serialized)
struct AutogradTests {
    // MARK: Deep graphs

    /// `x · r + 0` repeated: 2 recorded ops per step. Built in a function so that only the end of
    /// the chain survives the call.
    private static func chain(_ x: Tensor, steps: Int, factor: Double) -> Tensor {
        var y = x
        for _ in 0..<steps { y = y * factor + 0.0 }
        return y
    }

    @Test("a chain of 1,000,000 ops backpropagates and is released")
    func millionOpChain() throws {
        let steps = 500_000, factor = 1.000001
        let values: [Double] = [0.5, -2]
        try MemoryTracker.measuring { scope in
            do {
                let x = Tensor(shape: [2], scalars: values).requiringGrad()
                let y = Self.chain(x, steps: steps, factor: factor)
                let grads = y.sum().backward()
                // d/dx Σ x·rⁿ = rⁿ for each element; each step rounds once, so the relative error
                // stays near √n·ε ≈ 1e-13.
                let closedForm = Foundation.pow(factor, Double(steps))
                let dx = try #require(grads[x])
                expectClose(dx.doubles, [closedForm, closedForm], rtol: 1e-9, "dx")
                expectClose(y.doubles, values.map { $0 * closedForm }, rtol: 1e-9, "y")
            }
            // Dropping the 1M-node graph must neither overflow the stack nor leak storages.
            #expect(scope.currentBytes == 0, "\(scope.currentBytes) bytes still held")
        }
    }

    @Test("a chain of 1,000,000 ops is released without a backward pass")
    func millionOpChainWithoutBackward() {
        MemoryTracker.measuring { scope in
            do {
                let x = Tensor(shape: [3], scalars: [1, 2, 3] as [Float]).requiringGrad()
                let y = Self.chain(x, steps: 500_000, factor: 1)
                #expect(y.requiresGrad)
                #expect(y.floats == [1, 2, 3])
            }
            #expect(scope.currentBytes == 0, "\(scope.currentBytes) bytes still held")
        }
    }

    // MARK: Recording

    @Test("no-grad scopes record nothing")
    func noGradScope() {
        let x = Tensor(shape: [3], scalars: [1, 2, 3] as [Double]).requiringGrad()
        #expect(GradMode.isEnabled)
        let y = withoutGradients { () -> Tensor in
            #expect(!GradMode.isEnabled)
            return (x * x).exp().sum()
        }
        #expect(GradMode.isEnabled)
        #expect(!y.requiresGrad)
        #expect(x.requiresGrad)
        // Results of no-grad work act as constants once gradients are back on.
        let z = (x * y).sum()
        let dx = z.gradients(wrt: [x])[0]
        expectClose(dx.doubles, Array(repeating: y.item, count: 3), "dx")
    }

    @Test("tensors that need no gradient record nothing")
    func constantsRecordNothing() {
        let a = Tensor(shape: [2], scalars: [1, 2] as [Double])
        #expect(!(a * a + 1).exp().requiresGrad)
    }

    @Test("detached tensors are constants")
    func detach() {
        let x = Tensor(shape: [3], scalars: [1, -2, 3] as [Double]).requiringGrad()
        let c = x.detached()
        #expect(!c.requiresGrad)
        #expect(c.doubles == x.doubles)
        // d/dx Σ c·x = c, not 2x.
        let dx = (c * x).sum().gradients(wrt: [x])[0]
        expectClose(dx.doubles, [1, -2, 3], "dx")
        // A detached intermediate cuts the path through it: d/dx Σ (x² detached)·x = x².
        let y = x * x
        let dx2 = (y.detached() * x).sum().gradients(wrt: [x])[0]
        expectClose(dx2.doubles, [1, 4, 9], "dx2")
    }

    // MARK: Gradient values

    @Test("a tensor used twice sums its gradients (diamond graphs)")
    func diamond() {
        let values: [Double] = [0.5, -1, 2]
        let x = Tensor(shape: [3], scalars: values).requiringGrad()
        // x · x: both inputs are the same node.
        let dSquare = (x * x).sum().gradients(wrt: [x])[0]
        expectClose(dSquare.doubles, values.map { 2 * $0 }, "d(x·x)")
        // y = 2x feeds two branches that rejoin: z = y·y + exp(y) ⇒ dz/dx = 2·(2y + eʸ).
        let y = x * 2
        let z = (y * y + y.exp()).sum()
        let dx = z.gradients(wrt: [x])[0]
        expectClose(dx.doubles, values.map { 2 * (4 * $0 + Foundation.exp(2 * $0)) }, "diamond")
    }

    @Test("broadcast inputs receive gradients summed back to their shape")
    func broadcastSumsBack() throws {
        let a = Tensor(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6] as [Double]).requiringGrad()
        let b = Tensor(shape: [3], scalars: [10, 20, 30] as [Double]).requiringGrad()
        let s = Tensor(shape: [2, 1], scalars: [-1, 2] as [Double]).requiringGrad()
        let loss = ((a + b) * s).sum()
        let grads = loss.backward()
        expectClose(try #require(grads[a]).doubles, [-1, -1, -1, 2, 2, 2], "da")
        expectClose(try #require(grads[b]).doubles, [1, 1, 1], "db")
        // ds_i = Σ_j (a_ij + b_j).
        expectClose(try #require(grads[s]).doubles, [66, 75], "ds")
        #expect(try #require(grads[b]).shape == [3])
        #expect(try #require(grads[s]).shape == [2, 1])
    }

    @Test("wide broadcast gradients are summed back exactly (threaded column reduction)")
    func wideBroadcastSumsBack() throws {
        // 64 rows × 50,000 columns: large enough that the reduction over rows splits its
        // columns across threads. Integer-valued weights keep every sum exact.
        let rows = 64, columns = 50_000
        let a = Tensor.zeros([rows, columns], dtype: .float64).requiringGrad()
        let b = Tensor.zeros([columns], dtype: .float64).requiringGrad()
        let weights = (0..<rows * columns).map { Double(($0 * 7 + $0 / columns) % 13) - 6 }
        let w = Tensor(shape: [rows, columns], scalars: weights)
        let db = try #require(((a + b) * w).sum().backward()[b])
        var expected = [Double](repeating: 0, count: columns)
        for r in 0..<rows { for c in 0..<columns { expected[c] += weights[r * columns + c] } }
        #expect(db.doubles == expected)
        // The same reduction as a plain sum over the leading axis.
        #expect(w.sum(axis: 0).doubles == expected)
    }

    @Test("gradients with respect to intermediate tensors")
    func intermediateGradients() throws {
        let values: [Double] = [0.1, -0.4, 0.7]
        let x = Tensor(shape: [3], scalars: values).requiringGrad()
        let y = x * x
        let z = y.exp()
        let loss = (z * 3).sum()
        let unrelated = Tensor(shape: [2], scalars: [1, 1] as [Double]).requiringGrad()
        let g = loss.gradients(wrt: [z, y, x, unrelated], retainGraph: true)
        expectClose(g[0].doubles, [3, 3, 3], "dz")
        expectClose(g[1].doubles, values.map { 3 * Foundation.exp($0 * $0) }, "dy")
        expectClose(g[2].doubles, values.map { 6 * $0 * Foundation.exp($0 * $0) }, "dx")
        // A tensor the loss does not depend on gets zeros of its own shape.
        #expect(g[3].shape == [2])
        #expect(g[3].doubles == [0, 0])
        // backward() reports leaves only.
        let leaves = loss.backward()
        #expect(leaves.count == 1)
        #expect(leaves[y] == nil)
        #expect(leaves[unrelated] == nil)
        expectClose(try #require(leaves[x]).doubles, g[2].doubles, "leaf dx")
    }

    @Test("a seed weights the output gradient")
    func seeds() throws {
        let x = Tensor(shape: [2, 2], scalars: [1, 2, 3, 4] as [Double]).requiringGrad()
        let y = x * x
        let seed = Tensor(shape: [2, 2], scalars: [1, -1, 0.5, 2] as [Double])
        // vector–Jacobian product: seed · 2x.
        let dx = y.gradients(wrt: [x], seed: seed, retainGraph: true)[0]
        expectClose(dx.doubles, [2, -4, 3, 16], "dx")
        let viaBackward = y.backward(seed: seed, retainGraph: true)
        expectClose(try #require(viaBackward[x]).doubles, [2, -4, 3, 16], "backward dx")
        // The default seed of a non-scalar output is ones.
        let dxOnes = y.gradients(wrt: [x])[0]
        expectClose(dxOnes.doubles, [2, 4, 6, 8], "ones seed")
    }

    @Test("gradients accumulate with +=")
    func accumulation() throws {
        let x = Tensor(shape: [2], scalars: [1, 3] as [Double]).requiringGrad()
        let w = Tensor(shape: [2], scalars: [2, -1] as [Double]).requiringGrad()
        var total = (x * x).sum().backward()        // dx = 2x, no w
        #expect(total.count == 1)
        total += (x * w).sum().backward()           // dx += w, dw = x
        #expect(total.count == 2)
        expectClose(try #require(total[x]).doubles, [2 + 2, 6 - 1], "dx")
        expectClose(try #require(total[w]).doubles, [1, 3], "dw")
        // Adding into an empty set copies.
        var empty = Gradients()
        empty += total
        expectClose(try #require(empty[w]).doubles, [1, 3], "copied dw")
    }

    @Test("retainGraph lets a graph be walked twice with identical results")
    func retainGraph() throws {
        let x = Tensor(shape: [3], scalars: [0.2, -0.3, 1.1] as [Double]).requiringGrad()
        let loss = ((x * x).tanh() * x.exp()).sum()
        let first = loss.backward(retainGraph: true)
        let second = loss.backward(retainGraph: true)
        let third = loss.gradients(wrt: [x])[0]  // the last walk may free the graph
        let expected = [0.2, -0.3, 1.1].map { v -> Double in
            let t = Foundation.tanh(v * v)
            return Foundation.exp(v) * ((1 - t * t) * 2 * v + t)
        }
        expectClose(try #require(first[x]).doubles, expected, "first")
        #expect(try #require(first[x]).doubles == (try #require(second[x])).doubles)
        #expect(third.doubles == (try #require(first[x])).doubles)
    }

    // MARK: Memory

    /// exp applied `depth` times to `x`, summed; every intermediate is saved by the next rule.
    private static func expChain(_ x: Tensor, depth: Int) -> Tensor {
        var y = x
        for _ in 0..<depth { y = (y * 0.5).exp() }
        return y.sum()
    }

    @Test("backward frees saved tensors, and dropping the graph frees the rest")
    func memoryIsFreed() {
        let n = 1 << 16, depth = 6
        var generator = RandomGenerator(seed: 7)
        let x = Tensor.uniform([n], low: -1, high: 1, dtype: .float64, using: &generator).requiringGrad()
        let bytes = n * 8
        // The scope counts only this test's tensors, whatever other suites allocate meanwhile.
        MemoryTracker.measuring { scope in
            do {
                let loss = Self.expChain(x, depth: depth)
                // While the graph is alive, each exp keeps its output for its rule: ≥ depth tensors.
                #expect(scope.currentBytes >= depth * bytes)
                let grads = loss.backward()
                withExtendedLifetime((loss, grads)) {
                    // Only the loss (one scalar) and dx remain once the rules have run.
                    #expect(scope.currentBytes == bytes + 8, "after backward: \(scope.currentBytes) bytes held")
                    #expect(grads[x]?.shape == [n])
                }
            }
            #expect(scope.currentBytes == 0, "after release: \(scope.currentBytes) bytes held")
        }
    }

    @Test("retainGraph keeps saved tensors until the graph is dropped")
    func retainedMemory() {
        let n = 1 << 16
        var generator = RandomGenerator(seed: 8)
        let x = Tensor.uniform([n], low: -1, high: 1, dtype: .float64, using: &generator).requiringGrad()
        MemoryTracker.measuring { scope in
            do {
                let loss = Self.expChain(x, depth: 4)
                let held = scope.currentBytes
                #expect(held >= 4 * n * 8)
                withExtendedLifetime(loss) {
                    // The saved outputs stay; only the gradient (dx and the seed) is new, and it is released.
                    MemoryTracker.measuring { pass in
                        _ = loss.backward(retainGraph: true)
                        #expect(pass.currentBytes == 0)
                    }
                    #expect(scope.currentBytes == held)
                }
            }
            #expect(scope.currentBytes == 0)
        }
    }
}
