/// How ``Tensor/padded(_:mode:)`` fills the new border (PyTorch `F.pad` modes).
public enum PaddingMode: Sendable, Equatable {
    /// Every new element is the given value.
    case constant(Double)
    /// Mirror without repeating the edge: `[a b c d]` padded by 2 gives `c b [a b c d] c b`.
    /// Each width must be smaller than the axis.
    case reflect
    /// Repeat the edge element: `a a [a b c d] d d`.
    case replicate
    /// Wrap around: `c d [a b c d] a b`. Each width must be at most the axis size.
    case circular

    /// Zero padding.
    public static let zeros = PaddingMode.constant(0)
}

extension Tensor {
    /// Pads the last `widths.count` axes; `widths[i]` is the `(before, after)` amount for axis
    /// `rank − widths.count + i`, so the pairs run in axis order (first padded axis first).
    ///
    /// For an image batch `[N, C, H, W]`, `x.padded([(top, bottom), (left, right)], mode: .reflect)`
    /// equals PyTorch's `F.pad(x, (left, right, top, bottom), mode="reflect")`; see
    /// ``padded(torchAmounts:mode:)`` for that argument order. The gradient of reflect, replicate
    /// and circular padding adds every border element's gradient to the source element it copied.
    public func padded(_ widths: [(before: Int, after: Int)], mode: PaddingMode = .zeros) -> Tensor {
        precondition(widths.count <= rank, "padded: \(widths.count) padded axes for a rank-\(rank) tensor")
        let first = rank - widths.count
        var maps = AxisMaps(repeating: nil, count: rank)
        for (k, (before, after)) in widths.enumerated() {
            let a = first + k, n = shape[a]
            precondition(before >= 0 && after >= 0, "padded: negative width (\(before), \(after)) on axis \(a)")
            if before == 0 && after == 0 { continue }
            switch mode {
            case .constant: break
            case .reflect:
                precondition(before < n && after < n,
                             "reflect padding (\(before), \(after)) must be smaller than axis \(a) of size \(n)")
            case .replicate:
                precondition(n > 0, "replicate padding of the empty axis \(a)")
            case .circular:
                precondition(before <= n && after <= n,
                             "circular padding (\(before), \(after)) must be at most axis \(a) of size \(n)")
            }
            maps[a] = (0..<(before + n + after)).map { o in
                let i = o - before
                switch mode {
                case .constant: return i >= 0 && i < n ? i : -1
                case .reflect: return i < 0 ? -i : (i >= n ? 2 * (n - 1) - i : i)
                case .replicate: return Swift.min(Swift.max(i, 0), n - 1)
                case .circular: return ((i % n) + n) % n
                }
            }
        }
        if maps.allSatisfy({ $0 == nil }) { return self }
        let fill: Double
        if case .constant(let value) = mode { fill = value } else { fill = 0 }
        let y = remapped(maps, fill: fill)
        let sourceShape = shape
        if case .constant = mode {
            // The gradient of constant padding is the interior: a view, nothing accumulates.
            return Autograd.record(y, inputs: [self]) { g in
                var interior = g
                for (k, (before, _)) in widths.enumerated() {
                    let a = first + k
                    interior = interior.narrowed(axis: a, start: before, length: sourceShape[a])
                }
                return [interior]
            }
        }
        return Autograd.record(y, inputs: [self]) { g in [g.remapAdjoint(maps, sourceShape: sourceShape)] }
    }

    /// Pads with amounts in PyTorch `F.pad` order: `(lastBefore, lastAfter, secondLastBefore,
    /// secondLastAfter, …)`, last axis first. An odd count or more pairs than axes is an error.
    public func padded(torchAmounts amounts: [Int], mode: PaddingMode = .zeros) -> Tensor {
        precondition(amounts.count % 2 == 0, "padded(torchAmounts:) needs pairs, got \(amounts.count) amounts")
        let pairs = stride(from: 0, to: amounts.count, by: 2).map { (before: amounts[$0], after: amounts[$0 + 1]) }
        return padded(pairs.reversed(), mode: mode)
    }
}
