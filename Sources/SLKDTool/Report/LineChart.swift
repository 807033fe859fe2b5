import Foundation

/// A line chart of training curves drawn into a ``Canvas``: axes, ticks with values, a title and
/// a legend; each series smoothed by a trailing moving average so that per-batch noise does not
/// hide the trend.
struct LineChart {
    struct Series {
        var label: String
        var color: Canvas.Color
        var values: [Double]
    }

    var title: String
    var series: [Series]
    /// Plot log10 of the values (for losses spanning decades).
    var logarithmic = false
    /// Steps in the moving-average window (1: raw).
    var smoothing = 1

    /// Colours that stay distinct for the report's few series.
    static let palette: [Canvas.Color] = [(0.12, 0.47, 0.71), (1.0, 0.50, 0.05), (0.17, 0.63, 0.17),
                                          (0.84, 0.15, 0.16), (0.58, 0.40, 0.74), (0.55, 0.34, 0.29)]

    /// Trailing moving average over `window` finite values.
    static func smoothed(_ values: [Double], window: Int) -> [Double] {
        guard window > 1 else { return values }
        var out: [Double] = [], queue: [Double] = [], sum = 0.0
        for v in values {
            if v.isFinite { queue.append(v); sum += v }
            if queue.count > window { sum -= queue.removeFirst() }
            out.append(queue.isEmpty ? .nan : sum / Double(queue.count))
        }
        return out
    }

    /// Draws the chart in the rectangle (x, y, width, height) of `canvas`.
    func draw(into canvas: inout Canvas, x: Int, y: Int, width: Int, height: Int) {
        let transformed = series.map { s -> [Double] in
            Self.smoothed(s.values, window: smoothing).map { logarithmic ? ($0 > 0 ? Foundation.log10($0) : .nan) : $0 }
        }
        let finite = transformed.flatMap { $0 }.filter(\.isFinite)
        let steps = series.map(\.values.count).max() ?? 0
        let grey: Canvas.Color = (0.55, 0.55, 0.55)
        canvas.text(title, x: x + 4, y: y + 2, scale: 2)
        let left = x + 64, right = x + width - 8, top = y + 24, bottom = y + height - 30
        guard let low = finite.min(), let high = finite.max(), steps > 1, right > left, bottom > top else {
            canvas.text("NO DATA", x: left + 8, y: top + 8, color: grey)
            return
        }
        let pad = high > low ? (high - low) * 0.05 : 1
        let (y0, y1) = (low - pad, high + pad)
        func px(_ step: Int) -> Double { Double(left) + Double(step) / Double(steps - 1) * Double(right - left) }
        func py(_ v: Double) -> Double { Double(bottom) - (v - y0) / (y1 - y0) * Double(bottom - top) }

        // Axes, horizontal grid lines and their values.
        for i in 0...4 {
            let v = y0 + (y1 - y0) * Double(i) / 4
            let yy = Int(py(v).rounded())
            canvas.fill(x: left, y: yy, width: right - left, height: 1, color: (0.9, 0.9, 0.9))
            let label = Self.format(logarithmic ? Foundation.pow(10, v) : v)
            canvas.text(label, x: left - 6 - Canvas.textWidth(label), y: yy - 3, color: grey)
        }
        canvas.fill(x: left, y: top, width: 1, height: bottom - top + 1, color: grey)
        canvas.fill(x: left, y: bottom, width: right - left + 1, height: 1, color: grey)
        for i in 0...4 {
            let step = (steps - 1) * i / 4
            let label = "\(step + 1)"
            let xx = Int(px(step).rounded())
            canvas.fill(x: xx, y: bottom, width: 1, height: 4, color: grey)
            canvas.text(label, x: xx - Canvas.textWidth(label) / 2, y: bottom + 7, color: grey)
        }
        canvas.text("STEP", x: right - Canvas.textWidth("STEP"), y: bottom + 18, color: grey)

        for (s, values) in zip(series, transformed) {
            var previous: (x: Double, y: Double)?
            for (i, v) in values.enumerated() {
                guard v.isFinite else { previous = nil; continue }
                let point = (x: px(i), y: py(v))
                if let previous { canvas.line(from: previous, to: point, color: s.color) }
                previous = point
            }
        }
        // Legend, top right.
        var ly = top + 6
        for s in series {
            let lx = right - 8 - Canvas.textWidth(s.label) - 18
            canvas.fill(x: lx, y: ly + 2, width: 12, height: 3, color: s.color)
            canvas.text(s.label, x: lx + 18, y: ly, color: (0.15, 0.15, 0.15))
            ly += 12
        }
    }

    /// A short tick label: three significant digits.
    static func format(_ v: Double) -> String {
        let magnitude = abs(v)
        if magnitude >= 100 { return String(format: "%.0f", v) }
        if magnitude >= 10 { return String(format: "%.1f", v) }
        if magnitude >= 1 { return String(format: "%.2f", v) }
        if magnitude >= 0.01 || magnitude == 0 { return String(format: "%.3f", v) }
        return String(format: "%.1e", v)
    }
}
