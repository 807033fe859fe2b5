import Foundation
import Testing
import SLKDQuality

/// MSCN computed band by band (bounded temporaries) equals the whole-image computation exactly.
@Suite("MSCN in bands")
struct MSCNBandTests {
    /// The whole-image definition: μ and the second moment over the full plane, then (I − μ)/(σ + C).
    static func wholeImage(_ plane: [Double], width: Int, height: Int, options: MSCN.Options) -> [Double] {
        let mu = Filtering.correlateSeparable(plane, width: width, height: height, kernel: MSCN.window, padding: options.padding)
        let second = Filtering.correlateSeparable(plane.map { $0 * $0 }, width: width, height: height, kernel: MSCN.window,
                                                  padding: options.padding)
        return plane.indices.map { i in
            let sigma = sqrt(abs(second[i] - mu[i] * mu[i]))
            var centred = plane[i] - mu[i]
            if abs(centred) < options.snapThreshold { centred = 0 }
            return centred / (sigma + options.c)
        }
    }

    /// Planes of several bands with a partial last one, of exactly one band, smaller than the
    /// halo, one row past a band, and so wide that bands have their minimum of 16 rows.
    static let sizes: [(Int, Int)] = [
        (37, MSCN.bandRows(width: 37) * 2 + 5), (5, MSCN.bandRows(width: 5)), (3, 2),
        (9, MSCN.bandRows(width: 9) + 1), (MSCN.bandPixels / 4, 16 * 2 + 7),
    ]

    @Test(arguments: sizes)
    func bandsEqualTheWholeImage(width: Int, height: Int) {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        let plane = (0..<(width * height)).map { _ -> Double in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Double(state >> 56)  // 0…255, with flat runs
        }
        for options in [MSCN.Options.brisque, .piqe] {
            let banded = MSCN.coefficients(plane, width: width, height: height, options: options)
            #expect(banded == Self.wholeImage(plane, width: width, height: height, options: options))
        }
    }
}
