/// Gradients of one backward pass, looked up by the tensor they belong to.
///
/// Gradients add: `total += loss2.backward()` accumulates over several passes (gradient
/// accumulation over micro-batches).
public struct Gradients: Sendable {
    var byNode: [ObjectIdentifier: (node: GradNode, grad: Tensor)] = [:]

    public init() {}

    /// The gradient with respect to `tensor`, or nil if it did not take part.
    public subscript(_ tensor: Tensor) -> Tensor? {
        guard let node = tensor.gradNode else { return nil }
        return byNode[ObjectIdentifier(node)]?.grad
    }

    /// The number of tensors with a gradient.
    public var count: Int { byNode.count }

    /// Adds the gradients of `other` to these.
    public static func += (lhs: inout Gradients, rhs: Gradients) {
        for (key, entry) in rhs.byNode {
            if let existing = lhs.byNode[key] {
                lhs.byNode[key] = (entry.node, withoutGradients { existing.grad + entry.grad })
            } else {
                lhs.byNode[key] = entry
            }
        }
    }
}

extension Tensor {
    /// Runs reverse-mode differentiation from this tensor and returns the gradients of every
    /// leaf that ``requiresGrad`` in its graph.
    ///
    /// - Parameters:
    ///   - seed: the gradient of the final objective with respect to this tensor; defaults to
    ///     ones (so a scalar loss gets `dloss/dloss = 1`).
    ///   - retainGraph: keep the saved tensors so that the graph can be walked again.
    public func backward(seed: Tensor? = nil, retainGraph: Bool = false) -> Gradients {
        var result = Gradients()
        BackwardEngine.run(from: self, seed: seed, retainGraph: retainGraph) { node, grad in
            if node.isLeaf { result.byNode[ObjectIdentifier(node)] = (node, grad) }
        }
        return result
    }

    /// The gradients of this tensor (summed with `seed`, default ones) with respect to each of
    /// `inputs`, which may be leaves or intermediate results. An input that does not affect this
    /// tensor gets zeros.
    public func gradients(wrt inputs: [Tensor], seed: Tensor? = nil, retainGraph: Bool = false) -> [Tensor] {
        // The nodes asked for, each with its gradient once the pass reaches it. Zeros are made
        // only for those it never reaches: made up front for every parameter, they were a serial
        // fill of the whole model's size on each call (1 % of a Ufor-SL fwd+bwd).
        var wanted: [ObjectIdentifier: Tensor?] = [:]
        for input in inputs {
            if let node = input.gradNode { wanted[ObjectIdentifier(node)] = .some(nil) }
        }
        BackwardEngine.run(from: self, seed: seed, retainGraph: retainGraph) { node, grad in
            let key = ObjectIdentifier(node)
            if wanted[key] != nil { wanted[key] = .some(grad) }
        }
        return inputs.map { input in
            guard let node = input.gradNode, let grad = wanted[ObjectIdentifier(node)] ?? nil else { return input.zerosLike() }
            return grad
        }
    }
}

/// The reverse pass: iterative topological sort, then gradient rules in reverse order.
enum BackwardEngine {
    static func run(from root: Tensor, seed: Tensor?, retainGraph: Bool,
                    visit: (GradNode, Tensor) -> Void) {
        guard let rootNode = root.gradNode else {
            preconditionFailure("backward: the tensor does not require gradients (no recorded graph)")
        }
        TensorMemoryCache.noteBackwardPass()
        let order = topologicalOrder(from: rootNode)
        var index: [ObjectIdentifier: Int] = [:]
        index.reserveCapacity(order.count)
        for (i, node) in order.enumerated() { index[ObjectIdentifier(node)] = i }

        var grads = [Tensor?](repeating: nil, count: order.count)
        let start = seed ?? root.onesLike()
        precondition(start.shape == root.shape, "backward: seed shape \(start.shape) != \(root.shape)")
        grads[order.count - 1] = start.detached()

        withoutGradientsOrMACs {  // gradient rules record no graph and count no MACs
            for i in stride(from: order.count - 1, through: 0, by: -1) {
                guard let grad = grads[i] else { continue }
                grads[i] = nil  // consumed: free it as early as possible
                let node = order[i]
                visit(node, grad)
                if node.isLeaf { continue }
                guard let rule = node.rule else {
                    preconditionFailure("backward through '\(node.name)' a second time: its saved tensors were freed; pass retainGraph: true to the first backward")
                }
                let inputGrads = rule(grad)
                if !retainGraph { node.rule = nil; node.isReleased = true }
                for (k, input) in node.inputs.enumerated() {
                    guard let input, let g = inputGrads[k] else { continue }
                    let j = index[ObjectIdentifier(input)]!
                    let reduced = g.shape == input.shape ? g : g.sum(toShape: input.shape)
                    if let existing = grads[j] { grads[j] = existing + reduced } else { grads[j] = reduced }
                }
            }
        }
    }

    /// Nodes reachable from `root` such that every node comes after all of its inputs.
    /// Iterative depth-first post-order: recursion would overflow on deep graphs.
    static func topologicalOrder(from root: GradNode) -> [GradNode] {
        var order: [GradNode] = []
        var visited = Set<ObjectIdentifier>()
        var stack: [(node: GradNode, next: Int)] = [(root, 0)]
        visited.insert(ObjectIdentifier(root))
        while !stack.isEmpty {
            let top = stack.count - 1
            let node = stack[top].node
            let next = stack[top].next
            if next < node.inputs.count {
                stack[top].next += 1
                if let child = node.inputs[next], visited.insert(ObjectIdentifier(child)).inserted {
                    stack.append((child, 0))
                }
            } else {
                order.append(node)
                stack.removeLast()
            }
        }
        return order
    }
}
