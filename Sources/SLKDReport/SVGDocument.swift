import Foundation

/// A minimal SVG writer for the report's charts: elements are appended as text in drawing order,
/// with every attribute value and text node escaped, so that the output is well-formed XML that a
/// browser renders with real fonts (proper case, any character) and that can be inlined in HTML.
public struct SVGDocument: Sendable {
    public let width: Int, height: Int
    private var body: [String] = []

    /// An empty drawing of `width`×`height` user units (pixels at 100 % zoom).
    public init(width: Int, height: Int) {
        self.width = width
        self.height = height
    }

    /// How text sits on its anchor point.
    public enum Anchor: String, Sendable { case start, middle, end }

    /// Escapes the five XML special characters (attributes are always double-quoted).
    public static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.count)
        for c in text {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            default: out.append(c)
            }
        }
        return out
    }

    /// Coordinates with two decimals: enough for screen precision, short enough to keep files small.
    public static func number(_ v: Double) -> String {
        let rounded = (v * 100).rounded() / 100
        if rounded == rounded.rounded() { return String(Int(rounded)) }
        return String(format: "%.2f", rounded)
    }

    private mutating func append(_ name: String, _ attributes: [(String, String)], content: String? = nil) {
        let attrs = attributes.map { " \($0.0)=\"\(Self.escape($0.1))\"" }.joined()
        if let content {
            body.append("<\(name)\(attrs)>\(Self.escape(content))</\(name)>")
        } else {
            body.append("<\(name)\(attrs)/>")
        }
    }

    /// A filled rectangle.
    public mutating func rect(x: Double, y: Double, width: Double, height: Double, fill: String, stroke: String? = nil) {
        var a = [("x", Self.number(x)), ("y", Self.number(y)), ("width", Self.number(width)), ("height", Self.number(height)),
                 ("fill", fill)]
        if let stroke { a.append(("stroke", stroke)) }
        append("rect", a)
    }

    /// A straight line.
    public mutating func line(x1: Double, y1: Double, x2: Double, y2: Double, stroke: String, width: Double = 1) {
        append("line", [("x1", Self.number(x1)), ("y1", Self.number(y1)), ("x2", Self.number(x2)), ("y2", Self.number(y2)),
                         ("stroke", stroke), ("stroke-width", Self.number(width))])
    }

    /// A polyline through `points`; a nil point breaks it (a gap where a value was not finite).
    public mutating func path(_ points: [(x: Double, y: Double)?], stroke: String, width: Double = 1.5, label: String? = nil) {
        var d = "", pen = false
        for point in points {
            guard let point else { pen = false; continue }
            d += (pen ? " L" : (d.isEmpty ? "M" : " M")) + "\(Self.number(point.x)) \(Self.number(point.y))"
            pen = true
        }
        guard !d.isEmpty else { return }
        var a = [("d", d), ("fill", "none"), ("stroke", stroke), ("stroke-width", Self.number(width)),
                 ("stroke-linejoin", "round")]
        if let label { a.append(("data-series", label)) }
        append("path", a)
    }

    /// A text label; `rotate` turns it (degrees) about its anchor; `cssClass` names its role.
    public mutating func text(_ text: String, x: Double, y: Double, anchor: Anchor = .start, size: Double = 12,
                       fill: String = "#222", weight: String? = nil, rotate: Double? = nil, cssClass: String? = nil) {
        var a = [("x", Self.number(x)), ("y", Self.number(y)), ("font-size", Self.number(size)), ("fill", fill)]
        if anchor != .start { a.append(("text-anchor", anchor.rawValue)) }
        if let weight { a.append(("font-weight", weight)) }
        if let rotate { a.append(("transform", "rotate(\(Self.number(rotate)) \(Self.number(x)) \(Self.number(y)))")) }
        if let cssClass { a.append(("class", cssClass)) }
        append("text", a, content: text)
    }

    /// An estimate of the width `text` takes at `size` in a sans-serif font (about 0.6 em a
    /// character), for laying out margins and legends without font metrics; generous on purpose
    /// so that labels are not clipped.
    public static func textWidth(_ text: String, size: Double = 12) -> Double { Double(text.count) * size * 0.6 }

    /// The `<svg>` element alone, for inlining in HTML.
    public var inline: String {
        """
        <svg xmlns="http://www.w3.org/2000/svg" width="\(width)" height="\(height)" viewBox="0 0 \(width) \(height)" \
        font-family="system-ui, -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif">
        \(body.joined(separator: "\n"))
        </svg>
        """
    }

    /// A standalone `.svg` file.
    public var file: String { "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" + inline + "\n" }
}
