import Foundation

/// The range and ticks of one chart axis. Linear axes widen the data's range to whole multiples
/// of a "nice" step (1, 2, 2.5 or 5 times a power of ten), so that the first and last ticks sit
/// on the axis ends and every data point lies inside; logarithmic axes span whole decades.
public struct AxisScale: Equatable, Sendable {
    /// The axis ends, in data units.
    public let lower: Double, upper: Double
    /// Tick positions, in data units, ascending, from `lower` to `upper`.
    public let ticks: [Double]
    /// Whether positions follow log10 of the values.
    public let logarithmic: Bool
    /// Decimals that tell neighbouring tick labels apart (linear axes).
    public let decimals: Int

    /// A linear axis covering `low...high` with about `count` intervals of at least `minimumStep`
    /// (1 for an axis of whole steps).
    public static func linear(low: Double, high: Double, count: Int = 5, minimumStep: Double = 0) -> AxisScale {
        precondition(low.isFinite && high.isFinite && low <= high && count >= 1, "axis: bad range \(low)...\(high)")
        // A single value still needs a range: one unit around it (or a tenth of its size).
        let span = high > low ? high - low : Swift.max(abs(low) * 0.1, 1)
        let (lo, hi) = high > low ? (low, high) : (low - span / 2, high + span / 2)
        let step = Swift.max(niceStep(span / Double(count)), minimumStep)
        let lower = (lo / step).rounded(.down) * step, upper = (hi / step).rounded(.up) * step
        let n = Int(((upper - lower) / step).rounded())
        // Ticks from integer multiples, not by repeated addition, so that 0.1 + 0.2 errors do not build up.
        let ticks = (0...n).map { clean((lower / step).rounded() * step + Double($0) * step, step: step) }
        return AxisScale(lower: clean(lower, step: step), upper: clean(upper, step: step), ticks: ticks,
                         logarithmic: false, decimals: decimals(for: step))
    }

    /// A logarithmic axis over the decades that contain `low...high` (both positive); with two
    /// decades or fewer it also ticks 2× and 5× inside each decade.
    public static func logarithmic(low: Double, high: Double) -> AxisScale {
        precondition(low > 0 && high >= low && high.isFinite, "log axis: bad range \(low)...\(high)")
        var first = Int(log10(low).rounded(.down)), last = Int(log10(high).rounded(.up))
        if last == first { last += 1 }
        if Foundation.pow(10, Double(first)) > low { first -= 1 }  // log10 rounding at an exact power
        var ticks: [Double] = []
        for e in first...last {
            let decade = Double("1e\(e)")!  // the literal's value, which pow(10, e) need not be
            ticks.append(decade)
            if last - first <= 2, e < last { ticks += [2 * decade, 5 * decade] }
        }
        return AxisScale(lower: ticks.first!, upper: ticks.last!, ticks: ticks, logarithmic: true, decimals: 0)
    }

    /// 1, 2, 2.5 or 5 times a power of ten: the smallest such step at least `raw`.
    public static func niceStep(_ raw: Double) -> Double {
        let magnitude = Foundation.pow(10, log10(raw).rounded(.down))
        let fraction = raw / magnitude
        let nice: Double = fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 2.5 ? 2.5 : fraction <= 5 ? 5 : 10
        return nice * magnitude
    }

    /// Decimals that tell multiples of `step` apart.
    public static func decimals(for step: Double) -> Int {
        // 2.5 × 10^k needs one decimal more than 10^k.
        let base = Swift.max(0, -Int(log10(step).rounded(.down)))
        let scaled = step * Foundation.pow(10, Double(base))
        return abs(scaled - scaled.rounded()) < 1e-9 ? base : base + 1
    }

    /// Rounds away the binary noise of a multiple of `step` (0.30000000000000004 → 0.3).
    public static func clean(_ v: Double, step: Double) -> Double {
        let places = Double(decimals(for: step) + 1)
        let factor = Foundation.pow(10, places)
        let r = (v * factor).rounded() / factor
        return r == 0 ? 0 : r  // no "-0"
    }

    /// Where `value` falls between the ends: 0 at `lower`, 1 at `upper`.
    public func fraction(_ value: Double) -> Double {
        if logarithmic { return (log10(value) - log10(lower)) / (log10(upper) - log10(lower)) }
        return (value - lower) / (upper - lower)
    }

    /// The label of a tick.
    public func label(_ value: Double) -> String {
        if !logarithmic { return String(format: "%.\(decimals)f", value) }
        let l = log10(value)
        // log10 of a power of ten may land a hair below the integer.
        let e = abs(l - l.rounded()) < 1e-9 ? Int(l.rounded()) : Int(l.rounded(.down))
        let mantissa = (value / Foundation.pow(10, Double(e))).rounded()
        // Plain decimals where they are short (0.001 to 10000), powers of ten beyond.
        if e >= -3 && e <= 4 { return String(format: "%.\(Swift.max(0, -e))f", value) }
        return mantissa == 1 ? "1e\(e)" : "\(Int(mantissa))e\(e)"
    }
}
