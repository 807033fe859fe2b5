/// Carries a value across a concurrency boundary that the caller knows to be safe.
///
/// The one wrapper of the package for handing a pointer or a non-escaping closure to the
/// chunks of a ``Parallel`` region: the chunks touch disjoint elements, or only read, and the
/// region ends before the caller goes on — facts the compiler cannot check.
@usableFromInline
package struct UncheckedSendable<Value>: @unchecked Sendable {
    @usableFromInline package let value: Value
    @inlinable package init(_ value: Value) { self.value = value }
}
