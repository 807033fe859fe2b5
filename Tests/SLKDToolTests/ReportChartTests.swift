import Foundation
import Testing

import SLKDReport

#if canImport(FoundationXML)
import FoundationXML
#endif

/// The demo report's SVG charts: axis ranges and ticks for known data, and documents that parse
/// back as XML with their labels as real text.
@Suite("Report charts (SVG)")
struct ReportChartTests {
    /// The elements of an SVG document, parsed back with Foundation's XMLParser.
    final class Elements: NSObject, XMLParserDelegate {
        struct Element { var name: String; var attributes: [String: String]; var text = "" }
        var elements: [Element] = []
        private var open: [Int] = []

        func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
                    attributes: [String: String] = [:]) {
            open.append(elements.count)
            elements.append(Element(name: name, attributes: attributes))
        }
        func parser(_ parser: XMLParser, foundCharacters string: String) {
            if let last = open.last { elements[last].text += string }
        }
        func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
            open.removeLast()
        }

        /// Parses `svg`; nil when it is not well-formed XML.
        static func parse(_ svg: String) -> Elements? {
            let parser = XMLParser(data: Data(svg.utf8)), elements = Elements()
            parser.delegate = elements
            return parser.parse() ? elements : nil
        }

        func texts(class cssClass: String) -> [Element] {
            elements.filter { $0.name == "text" && $0.attributes["class"] == cssClass }
        }
        func number(_ element: Element, _ attribute: String) -> Double { Double(element.attributes[attribute] ?? "") ?? .nan }
    }

    @Test func linearAxisWidensToNiceMultiples() {
        let psnr = AxisScale.linear(low: 18.3, high: 27.1)
        #expect(psnr.lower == 18 && psnr.upper == 28)
        #expect(psnr.ticks == [18, 20, 22, 24, 26, 28])
        #expect(psnr.ticks.map(psnr.label) == ["18", "20", "22", "24", "26", "28"])

        let ssim = AxisScale.linear(low: 0.12, high: 0.87)
        #expect(ssim.ticks == [0, 0.2, 0.4, 0.6, 0.8, 1.0])
        #expect(ssim.ticks.map(ssim.label) == ["0.0", "0.2", "0.4", "0.6", "0.8", "1.0"])

        // 2.5 steps need two decimals: 0.25, not 0.2 and 0.3.
        let quarter = AxisScale.linear(low: 0, high: 1.2, count: 5)
        #expect(quarter.ticks == [0, 0.25, 0.5, 0.75, 1, 1.25])
        #expect(quarter.label(0.75) == "0.75")

        // Whole steps: 300 steps tick every 100; a single step still gets a range around it.
        #expect(AxisScale.linear(low: 1, high: 300, minimumStep: 1).ticks == [0, 100, 200, 300])
        #expect(AxisScale.linear(low: 1, high: 1, minimumStep: 1).ticks == [0, 1, 2])
        #expect(AxisScale.linear(low: 1, high: 300).fraction(150) == 0.5)
    }

    @Test func logarithmicAxisSpansWholeDecades() {
        let narrow = AxisScale.logarithmic(low: 0.02, high: 0.5)
        #expect(narrow.ticks.map(narrow.label) == ["0.01", "0.02", "0.05", "0.1", "0.2", "0.5", "1"])
        #expect(abs(narrow.fraction(0.1) - 0.5) < 1e-12)
        let wide = AxisScale.logarithmic(low: 3e-5, high: 40)
        #expect(wide.ticks.map(wide.label) == ["1e-5", "1e-4", "0.001", "0.01", "0.1", "1", "10", "100"])
    }

    @Test func lineChartIsWellFormedWithRealTextAndTheLegendOutsideThePlot() throws {
        let chart = LineChart(title: "Training PSNR <batch & clean>", yLabel: "PSNR (dB)",
                              series: [.init(label: "SLKD student", color: "#1f77b4", values: [20, 22, 24, 26, 28]),
                                       .init(label: "Student alone", color: "#ff7f0e", values: [21, 21, .nan, 23, 24])])
        let svg = chart.svg(width: 600, height: 300)
        let doc = try #require(Elements.parse(svg.file), "not well-formed XML")
        #expect(doc.elements.first?.name == "svg")
        let texts = doc.elements.filter { $0.name == "text" }.map(\.text)
        #expect(texts.contains("Training PSNR <batch & clean>"))  // escaped, then read back as written
        #expect(texts.contains("PSNR (dB)") && texts.contains("Step"))
        #expect(doc.texts(class: "legend").map(\.text) == ["SLKD student", "Student alone"])
        #expect(doc.texts(class: "y-tick").map(\.text) == ["20", "22", "24", "26", "28"])
        #expect(doc.texts(class: "x-tick").map(\.text) == ["1", "2", "3", "4", "5"])

        // The first series runs from the "20" tick to the "28" tick (tick text sits 4 px below its line).
        let paths = doc.elements.filter { $0.name == "path" }
        #expect(paths.count == 2)
        let points = try #require(paths.first?.attributes["d"]).split(whereSeparator: { "ML ".contains($0) }).compactMap { Double($0) }
        let yTicks = doc.texts(class: "y-tick")
        #expect(abs(points[1] - (doc.number(yTicks[0], "y") - 4)) < 0.011)
        #expect(abs(points[points.count - 1] - (doc.number(yTicks[4], "y") - 4)) < 0.011)
        // The NaN breaks the second series into two pieces.
        #expect(paths[1].attributes["d"]?.filter { $0 == "M" }.count == 2)

        // Legend right of every curve point; no text reaches past the canvas.
        let xs = stride(from: 0, to: points.count, by: 2).map { points[$0] }
        for legend in doc.texts(class: "legend") { #expect(doc.number(legend, "x") > xs.max()!) }
        for text in doc.elements where text.name == "text" && text.attributes["transform"] == nil {
            let x = doc.number(text, "x"), w = SVGDocument.textWidth(text.text, size: doc.number(text, "font-size"))
            let (left, right) = switch text.attributes["text-anchor"] {
            case "end": (x - w, x)
            case "middle": (x - w / 2, x + w / 2)
            default: (x, x + w)
            }
            #expect(left >= 0 && right <= 600, "'\(text.text)' spans \(left)...\(right)")
        }
    }

    @Test func barChartBarsAreProportionalFromZero() throws {
        let chart = BarChart(title: "Held-out PSNR", valueLabel: "PSNR (dB)",
                             bars: [.init(label: "Degraded input", value: 18.52, color: "#999"),
                                    .init(label: "Teacher", value: 27.05, color: "#1f77b4")])
        #expect(chart.axis.ticks == [0, 10, 20, 30])
        let doc = try #require(Elements.parse(chart.svg().file))
        #expect(doc.texts(class: "bar-label").map(\.text) == ["Degraded input", "Teacher"])
        #expect(doc.texts(class: "bar-value").map(\.text) == ["18.52", "27.05"])
        #expect(doc.texts(class: "x-label").map(\.text) == ["PSNR (dB)"])
        let widths = doc.elements.filter { $0.name == "rect" }.map { doc.number($0, "width") }
        #expect(widths.count == 2)
        #expect(abs(widths[0] / widths[1] - 18.52 / 27.05) < 1e-3)
        // Both bars start at the axis's zero.
        let starts = doc.elements.filter { $0.name == "rect" }.map { doc.number($0, "x") }
        #expect(starts[0] == starts[1])
    }

    @Test func emptyChartSaysSo() throws {
        let chart = LineChart(title: "Loss", yLabel: "Loss", series: [.init(label: "a", color: "#000", values: [.nan, .nan])],
                              logarithmic: true)
        let doc = try #require(Elements.parse(chart.svg().file))
        #expect(doc.elements.filter { $0.name == "text" }.map(\.text) == ["Loss", "No data"])
    }
}
