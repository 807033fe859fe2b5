import SLKDTensor

/// An RGB raster for the report's image strips: filled rectangles and pasted images, saved as a
/// `3×H×W` tensor (hence as PNG). It draws no text: the report's HTML labels the strips, and its
/// charts are SVG with real fonts.
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
}
