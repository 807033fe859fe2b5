/// Whether operations record the autograd graph.
public enum GradMode {
    @TaskLocal static var isDisabled = false

    /// Whether operations currently record gradients.
    public static var isEnabled: Bool { !isDisabled }
}

/// Runs `body` without recording the autograd graph (inference, teacher forward passes,
/// optimizer updates). Results of operations inside need no gradient.
@discardableResult
public func withoutGradients<R>(_ body: () throws -> R) rethrows -> R {
    try GradMode.$isDisabled.withValue(true, operation: body)
}
