import Foundation

/// A line chart of training curves as SVG: a title, axes with ticks and labels, and a legend to
/// the right of the plot area (outside it, so that it never hides a curve). Each series is
/// smoothed by a trailing moving average so that per-batch noise does not hide the trend.
public struct LineChart: Sendable {
    /// One curve.
    public struct Series: Sendable {
        public var label: String
        /// A CSS colour, e.g. `#1f77b4`.
        public var color: String
        /// One value per step (step 1 first); non-finite values leave a gap.
        public var values: [Double]

        public init(label: String, color: String, values: [Double]) {
            self.label = label
            self.color = color
            self.values = values
        }
    }

    public var title: String
    public var xLabel = "Step"
    /// The y axis's label, with its unit, e.g. "PSNR (dB)".
    public var yLabel: String
    public var series: [Series]
    /// Plot the values on a logarithmic axis (for losses spanning decades).
    public var logarithmic = false
    /// Steps in the moving-average window (1: raw).
    public var smoothing = 1

    public init(title: String, xLabel: String = "Step", yLabel: String, series: [Series], logarithmic: Bool = false,
                smoothing: Int = 1) {
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.series = series
        self.logarithmic = logarithmic
        self.smoothing = smoothing
    }

    /// Colours that stay distinct for the report's few series (matplotlib's "tab10").
    public static let palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b"]

    /// Trailing moving average over `window` finite values.
    public static func smoothed(_ values: [Double], window: Int) -> [Double] {
        guard window > 1 else { return values }
        var out: [Double] = [], queue: [Double] = [], sum = 0.0
        for v in values {
            if v.isFinite { queue.append(v); sum += v }
            if queue.count > window { sum -= queue.removeFirst() }
            out.append(queue.isEmpty ? .nan : sum / Double(queue.count))
        }
        return out
    }

    /// The values drawn: smoothed, and on a log axis only the positive ones.
    public var plotted: [[Double]] {
        series.map { s in
            Self.smoothed(s.values, window: smoothing).map { v in v.isFinite && (!logarithmic || v > 0) ? v : .nan }
        }
    }

    /// The y axis for the plotted values (nil when there is nothing finite to plot).
    public var yAxis: AxisScale? {
        let finite = plotted.flatMap { $0 }.filter(\.isFinite)
        guard let low = finite.min(), let high = finite.max() else { return nil }
        return logarithmic ? .logarithmic(low: low, high: high) : .linear(low: low, high: high)
    }

    /// The x axis: steps 1 to the longest series.
    public var xAxis: AxisScale {
        .linear(low: 1, high: Double(Swift.max(series.map(\.values.count).max() ?? 1, 1)), minimumStep: 1)
    }

    /// Font sizes of labels and of the title, in user units.
    public static let fontSize = 12.0, titleSize = 14.0

    /// The chart as an SVG document of the given size.
    public func svg(width: Int = 720, height: Int = 300) -> SVGDocument {
        var doc = SVGDocument(width: width, height: height)
        doc.text(title, x: 8, y: 8 + Self.titleSize, size: Self.titleSize, weight: "600")
        guard let yAxis else {
            doc.text("No data", x: Double(width) / 2, y: Double(height) / 2, anchor: .middle, fill: "#777")
            return doc
        }
        let xAxis = self.xAxis
        // Margins from the widest labels, so that tick values and the legend are never clipped.
        let yTickWidth = yAxis.ticks.map { SVGDocument.textWidth(yAxis.label($0), size: Self.fontSize) }.max() ?? 0
        let legendWidth = (series.map { SVGDocument.textWidth($0.label, size: Self.fontSize) }.max() ?? 0) + 36
        let lastXTick = SVGDocument.textWidth(xAxis.label(xAxis.upper), size: Self.fontSize) / 2
        let plot = (left: 28 + yTickWidth + 8, top: 36.0,
                    right: Double(width) - Swift.max(legendWidth, lastXTick + 4) - 8, bottom: Double(height) - 44)
        func px(_ x: Double) -> Double { plot.left + xAxis.fraction(x) * (plot.right - plot.left) }
        func py(_ y: Double) -> Double { plot.bottom - yAxis.fraction(y) * (plot.bottom - plot.top) }

        // Grid and y ticks.
        for tick in yAxis.ticks {
            let y = py(tick)
            doc.line(x1: plot.left, y1: y, x2: plot.right, y2: y, stroke: "#e6e6e6")
            doc.text(yAxis.label(tick), x: plot.left - 6, y: y + 4, anchor: .end, size: Self.fontSize, fill: "#555",
                     cssClass: "y-tick")
        }
        for tick in xAxis.ticks {
            let x = px(tick)
            doc.line(x1: x, y1: plot.bottom, x2: x, y2: plot.bottom + 4, stroke: "#888")
            doc.text(xAxis.label(tick), x: x, y: plot.bottom + 18, anchor: .middle, size: Self.fontSize, fill: "#555",
                     cssClass: "x-tick")
        }
        doc.line(x1: plot.left, y1: plot.top, x2: plot.left, y2: plot.bottom, stroke: "#888")
        doc.line(x1: plot.left, y1: plot.bottom, x2: plot.right, y2: plot.bottom, stroke: "#888")
        doc.text(xLabel, x: (plot.left + plot.right) / 2, y: plot.bottom + 36, anchor: .middle, size: Self.fontSize,
                 cssClass: "x-label")
        doc.text(yLabel, x: 14, y: (plot.top + plot.bottom) / 2, anchor: .middle, size: Self.fontSize, rotate: -90,
                 cssClass: "y-label")

        for (s, values) in zip(series, plotted) {
            let points = values.enumerated().map { i, v in v.isFinite ? (x: px(Double(i + 1)), y: py(v)) : nil }
            doc.path(points, stroke: s.color, label: s.label)
        }
        // Legend, right of the plot area.
        var ly = plot.top + 6
        for s in series {
            let lx = plot.right + 16
            doc.line(x1: lx, y1: ly, x2: lx + 16, y2: ly, stroke: s.color, width: 3)
            doc.text(s.label, x: lx + 22, y: ly + 4, size: Self.fontSize, cssClass: "legend")
            ly += 18
        }
        return doc
    }
}
