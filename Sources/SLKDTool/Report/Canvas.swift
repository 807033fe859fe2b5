import SLKDTensor

/// An RGB raster for the report's figures: filled rectangles, anti-aliased lines, pasted images
/// and text in a built-in 5×7 pixel font, saved as a `3×H×W` tensor (hence as PNG).
struct Canvas {
    typealias Color = (r: Float, g: Float, b: Float)

    let width: Int, height: Int
    private(set) var pixels: [Float]  // planar: R plane, G plane, B plane

    init(width: Int, height: Int, background: Color = (1, 1, 1)) {
        self.width = width
        self.height = height
        pixels = [Float](repeating: 0, count: 3 * width * height)
        fill(x: 0, y: 0, width: width, height: height, color: background)
    }

    /// The picture as a `3×H×W` float tensor in [0, 1].
    var tensor: Tensor { Tensor(shape: [3, height, width], scalars: pixels) }

    /// Blends `color` over pixel (x, y) with opacity `alpha`; points off the canvas are ignored.
    mutating func blend(x: Int, y: Int, color: Color, alpha: Float = 1) {
        guard x >= 0, y >= 0, x < width, y < height, alpha > 0 else { return }
        let a = min(alpha, 1), plane = width * height, i = y * width + x
        pixels[i] += a * (color.r - pixels[i])
        pixels[plane + i] += a * (color.g - pixels[plane + i])
        pixels[2 * plane + i] += a * (color.b - pixels[2 * plane + i])
    }

    /// Fills the part of the rectangle that lies on the canvas (none, if it lies wholly off it).
    mutating func fill(x: Int, y: Int, width w: Int, height h: Int, color: Color) {
        let (x0, x1) = (max(x, 0), min(x + w, width)), (y0, y1) = (max(y, 0), min(y + h, height))
        guard x0 < x1, y0 < y1 else { return }
        for yy in y0..<y1 {
            for xx in x0..<x1 { blend(x: xx, y: yy, color: color) }
        }
    }

    /// A line of width about `thickness` pixels: the segment is sampled every quarter pixel and
    /// each sample covers a small disc with a soft edge, which anti-aliases without a rasteriser.
    mutating func line(from a: (x: Double, y: Double), to b: (x: Double, y: Double), color: Color, thickness: Double = 1.5) {
        let length = ((b.x - a.x) * (b.x - a.x) + (b.y - a.y) * (b.y - a.y)).squareRoot()
        let samples = max(Int(length * 4), 1)
        let radius = thickness / 2
        var coverage: [Int: Float] = [:]
        for s in 0...samples {
            let t = Double(s) / Double(samples)
            let cx = a.x + t * (b.x - a.x), cy = a.y + t * (b.y - a.y)
            for yy in Int((cy - radius - 1).rounded(.down))...Int((cy + radius + 1).rounded(.up)) {
                for xx in Int((cx - radius - 1).rounded(.down))...Int((cx + radius + 1).rounded(.up)) {
                    let d = ((Double(xx) + 0.5 - cx) * (Double(xx) + 0.5 - cx) + (Double(yy) + 0.5 - cy) * (Double(yy) + 0.5 - cy)).squareRoot()
                    let c = Float(max(0, min(1, radius + 0.5 - d)))
                    let key = yy * width + xx
                    if c > coverage[key, default: 0] { coverage[key] = c }
                }
            }
        }
        // Each pixel blended once, by its best coverage: overlapping samples do not darken it.
        for (key, c) in coverage where key >= 0 {
            blend(x: key % width, y: key / width, color: color, alpha: c)
        }
    }

    /// Pastes a `3×h×w` (or `1×h×w`) image in [0, 1] with its top-left corner at (x, y).
    mutating func paste(_ image: Tensor, x: Int, y: Int) {
        precondition(image.rank == 3, "paste takes a C×H×W image, got \(image.shape)")
        let (c, h, w) = (image.shape[0], image.shape[1], image.shape[2])
        let values = image.floats
        for yy in 0..<h {
            for xx in 0..<w {
                func value(_ channel: Int) -> Float { min(max(values[(min(channel, c - 1) * h + yy) * w + xx], 0), 1) }
                blend(x: x + xx, y: y + yy, color: (value(0), value(1), value(2)))
            }
        }
    }

    /// Draws `text` with its top-left corner at (x, y), each font pixel `scale`×`scale`.
    /// Letters are drawn upper-case; characters the font lacks are left blank.
    mutating func text(_ text: String, x: Int, y: Int, color: Color = (0.1, 0.1, 0.1), scale: Int = 1) {
        var cursor = x
        for character in text.uppercased() {
            if let rows = BitmapFont.glyphs[character] {
                for (row, bits) in rows.enumerated() {
                    for column in 0..<5 where bits & (0x10 >> column) != 0 {
                        fill(x: cursor + column * scale, y: y + row * scale, width: scale, height: scale, color: color)
                    }
                }
            }
            cursor += 6 * scale
        }
    }

    /// The width `text` takes at `scale`.
    static func textWidth(_ text: String, scale: Int = 1) -> Int { max(text.count * 6 * scale - scale, 0) }
}
