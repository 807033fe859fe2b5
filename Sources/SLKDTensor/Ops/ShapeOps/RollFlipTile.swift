// Roll, flip and tile: fixed rearrangements of elements, each one index map per axis
// (see Remap.swift).

extension Tensor {
    /// Elements shifted cyclically by `shifts[i]` along `axes[i]` (PyTorch `torch.roll`):
    /// the element at index `j` moves to `(j + shift) mod n`.
    public func rolled(shifts: [Int], axes: [Int]) -> Tensor {
        precondition(shifts.count == axes.count, "rolled: \(shifts.count) shifts for \(axes.count) axes")
        var total = [Int](repeating: 0, count: rank)
        for (s, axis) in Swift.zip(shifts, axes) { total[Shape.axis(axis, rank: rank)] += s }
        var maps = AxisMaps(repeating: nil, count: rank)
        for a in 0..<rank where shape[a] > 0 {
            let n = shape[a], s = ((total[a] % n) + n) % n
            if s != 0 { maps[a] = (0..<n).map { o in (o - s + n) % n } }
        }
        if maps.allSatisfy({ $0 == nil }) { return self }
        let backShifts = total.map { -$0 }
        return Autograd.record(remapped(maps, fill: 0), inputs: [self]) { g in
            [g.rolled(shifts: backShifts, axes: Array(0..<backShifts.count))]
        }
    }

    /// The elements in reverse order along each of `axes` (PyTorch `torch.flip`).
    public func flipped(axes: [Int]) -> Tensor {
        var maps = AxisMaps(repeating: nil, count: rank)
        for axis in axes {
            let a = Shape.axis(axis, rank: rank), n = shape[a]
            maps[a] = (0..<n).map { n - 1 - $0 }
        }
        if maps.allSatisfy({ $0 == nil }) { return self }
        let flippedAxes = axes
        return Autograd.record(remapped(maps, fill: 0), inputs: [self]) { g in [g.flipped(axes: flippedAxes)] }
    }

    /// The tensor repeated `repetitions[i]` times along axis i (PyTorch `Tensor.repeat`, NumPy
    /// `tile`). Extra leading repetitions add new leading axes. The gradient sums the copies.
    public func tiled(_ repetitions: [Int]) -> Tensor {
        precondition(repetitions.count >= rank, "tiled: \(repetitions.count) repetitions for rank \(rank); give one per axis")
        precondition(repetitions.allSatisfy { $0 >= 0 }, "tiled: negative repetition in \(repetitions)")
        let lead = repetitions.count - rank
        let x = lead == 0 ? self : reshaped([Int](repeating: 1, count: lead) + shape)
        var maps = AxisMaps(repeating: nil, count: x.rank)
        for a in 0..<x.rank where repetitions[a] != 1 {
            let n = x.shape[a]
            maps[a] = (0..<(n * repetitions[a])).map { $0 % n }
        }
        if maps.allSatisfy({ $0 == nil }) { return x }
        let sourceShape = x.shape
        return Autograd.record(x.remapped(maps, fill: 0), inputs: [x]) { g in
            [g.remapAdjoint(maps, sourceShape: sourceShape)]
        }
    }
}
