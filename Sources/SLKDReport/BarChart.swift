import Foundation

/// A horizontal bar chart as SVG: one bar per category with its value written at the bar's end,
/// category labels on the left (horizontal bars leave room for long method names). Bars start at
/// zero so that their lengths compare honestly.
public struct BarChart: Sendable {
    /// One category.
    public struct Bar: Sendable {
        public var label: String
        public var value: Double
        /// A CSS colour.
        public var color: String

        public init(label: String, value: Double, color: String) {
            self.label = label
            self.value = value
            self.color = color
        }
    }

    public var title: String
    /// The value axis's label, e.g. "PSNR (dB)".
    public var valueLabel: String
    public var bars: [Bar]
    /// printf format of the value written beside each bar.
    public var valueFormat = "%.2f"

    public init(title: String, valueLabel: String, bars: [Bar], valueFormat: String = "%.2f") {
        self.title = title
        self.valueLabel = valueLabel
        self.bars = bars
        self.valueFormat = valueFormat
    }

    /// Label size and the height of one bar's row, in user units.
    public static let fontSize = 12.0, rowHeight = 24.0

    /// The value axis: zero to the largest value (or the smallest, when all are negative).
    public var axis: AxisScale {
        let values = bars.map(\.value).filter(\.isFinite)
        return .linear(low: Swift.min(0, values.min() ?? 0), high: Swift.max(0, values.max() ?? 1))
    }

    /// The chart as SVG; its height follows from the number of bars.
    public func svg(width: Int = 720) -> SVGDocument {
        let height = Int(56 + Double(bars.count) * Self.rowHeight + 44)
        var doc = SVGDocument(width: width, height: height)
        doc.text(title, x: 8, y: 8 + LineChart.titleSize, size: LineChart.titleSize, weight: "600")
        let axis = self.axis
        let labelWidth = bars.map { SVGDocument.textWidth($0.label, size: Self.fontSize) }.max() ?? 0
        let valueWidth = bars.map { SVGDocument.textWidth(String(format: valueFormat, $0.value), size: Self.fontSize) }.max() ?? 0
        let lastTick = SVGDocument.textWidth(axis.label(axis.upper), size: Self.fontSize) / 2
        let plot = (left: 8 + labelWidth + 10, top: 44.0, right: Double(width) - Swift.max(valueWidth + 8, lastTick) - 8,
                    bottom: 44 + Double(bars.count) * Self.rowHeight)
        func px(_ v: Double) -> Double { plot.left + axis.fraction(v) * (plot.right - plot.left) }

        for tick in axis.ticks {
            let x = px(tick)
            doc.line(x1: x, y1: plot.top, x2: x, y2: plot.bottom, stroke: "#e6e6e6")
            doc.text(axis.label(tick), x: x, y: plot.bottom + 16, anchor: .middle, size: Self.fontSize, fill: "#555",
                     cssClass: "x-tick")
        }
        for (i, bar) in bars.enumerated() {
            let y = plot.top + Double(i) * Self.rowHeight
            doc.text(bar.label, x: plot.left - 8, y: y + Self.rowHeight / 2 + 4, anchor: .end, size: Self.fontSize,
                     cssClass: "bar-label")
            guard bar.value.isFinite else { continue }
            let (x0, x1) = (px(Swift.min(0, bar.value)), px(Swift.max(0, bar.value)))
            doc.rect(x: x0, y: y + 4, width: x1 - x0, height: Self.rowHeight - 8, fill: bar.color)
            doc.text(String(format: valueFormat, bar.value), x: x1 + 4, y: y + Self.rowHeight / 2 + 4, size: Self.fontSize,
                     fill: "#333", cssClass: "bar-value")
        }
        doc.line(x1: px(0), y1: plot.top, x2: px(0), y2: plot.bottom, stroke: "#888")
        doc.text(valueLabel, x: (plot.left + plot.right) / 2, y: plot.bottom + 34, anchor: .middle, size: Self.fontSize,
                 cssClass: "x-label")
        return doc
    }
}
