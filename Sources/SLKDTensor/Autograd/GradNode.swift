/// One recorded operation (or a leaf) in the autograd graph.
///
/// A node keeps the nodes of the inputs that need gradients and a closure that maps the
/// gradient of the operation's output to gradients of those inputs. The closure owns the
/// tensors the rule needs (saved detached, so saved values never extend the graph); the engine
/// drops it once run, freeing them. Not thread-safe: one graph belongs to one thread at a time.
@usableFromInline
final class GradNode: @unchecked Sendable {
    /// Gradient rule: output gradient → one gradient (or nil) per entry of `inputs`.
    typealias Rule = (Tensor) -> [Tensor?]

    /// Nodes of the operation's inputs; nil where an input needs no gradient.
    var inputs: [GradNode?]
    var rule: Rule?
    /// The output's shape: gradients are summed back to it (undoing broadcasting once, here).
    let shape: [Int]
    let dtype: DType
    /// Whether this is a leaf created by `requiringGrad()`.
    let isLeaf: Bool
    /// Set once `rule` has been released by a backward pass without `retainGraph`.
    var isReleased = false
    /// A short name of the operation, for error messages.
    let name: String

    init(inputs: [GradNode?], rule: Rule?, shape: [Int], dtype: DType, isLeaf: Bool, name: String) {
        self.inputs = inputs
        self.rule = rule
        self.shape = shape
        self.dtype = dtype
        self.isLeaf = isLeaf
        self.name = name
    }

    /// Tears down long chains iteratively: without this, releasing the last reference to the end
    /// of a chain of 40,000+ nodes recurses through nested deinits and overflows the stack.
    deinit {
        var pending = inputs.compactMap { $0 }
        inputs = []
        while var node = pending.popLast() {
            if isKnownUniquelyReferenced(&node) {
                pending.append(contentsOf: node.inputs.compactMap { $0 })
                node.inputs = []
                node.rule = nil
            }
        }
    }
}
