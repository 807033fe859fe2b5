import Foundation
import Testing
import SLKDTensor

/// The float32 C kernels (exp, sigmoid, tanh, GELU and its backward, the fused Linear + GELU
/// backward with its row sums, the sum) on every SIMD path
/// this CPU runs. Bounds tested (Docs/Troubleshooting.md, "SLKD_SIMD"): every path returns the baseline's
/// bits; exp equals glibc `expf` bit for bit outside [−87, 88]; GELU, its gate and its backward equal
/// SLKDTensor's scalar Swift forms bit for bit; exp and tanh are within 1 ulp of the exact (double) value,
/// sigmoid within 2.5 ulp (as the expf-based formula: 2.0 ulp). Float64 math stays in Swift: its
/// gradient checks (ElementwiseTests, VisionNormActTests) do not depend on the path.
@Suite("SIMD paths", .serialized)
struct SIMDPathTests {
    // MARK: Choosing the path

    struct Resolution: Sendable, CustomTestStringConvertible {
        var requested: String?
        var widest: SIMDPath
        var path: SIMDPath
        var request: SIMDPath.Request
        var testDescription: String { "\(requested ?? "unset") on \(widest)" }
    }

    static let resolutions: [Resolution] = [
        Resolution(requested: nil, widest: .avx512, path: .avx512, request: .none),
        Resolution(requested: "", widest: .avx2, path: .avx2, request: .none),
        Resolution(requested: nil, widest: .baseline, path: .baseline, request: .none),
        Resolution(requested: "baseline", widest: .avx512, path: .baseline, request: .granted),
        Resolution(requested: "avx2", widest: .avx512, path: .avx2, request: .granted),
        Resolution(requested: "avx512", widest: .avx512, path: .avx512, request: .granted),
        Resolution(requested: "baseline", widest: .baseline, path: .baseline, request: .granted),
        Resolution(requested: "avx512", widest: .avx2, path: .avx2, request: .unsupported),
        Resolution(requested: "avx2", widest: .baseline, path: .baseline, request: .unsupported),
        Resolution(requested: "AVX2", widest: .avx512, path: .avx512, request: .unknown),
        Resolution(requested: "sse4", widest: .avx2, path: .avx2, request: .unknown),
        Resolution(requested: "avx512 ", widest: .avx512, path: .avx512, request: .unknown),
    ]

    @Test("SLKD_SIMD values resolve to a path the CPU runs", arguments: resolutions)
    func resolve(_ r: Resolution) {
        let (path, request) = SIMDPath.resolve(r.requested, widest: r.widest)
        #expect(path == r.path)
        #expect(request == r.request)
    }

    @Test func activePathIsSupported() {
        #expect(SIMDPath.supported.first == .baseline)
        #expect(SIMDPath.supported.last == SIMDPath.widestSupported)
        #expect(SIMDPath.supported.contains(SIMDPath.active))
        let requested = ProcessInfo.processInfo.environment["SLKD_SIMD"]
        #expect(SIMDPath.active == SIMDPath.resolve(requested, widest: SIMDPath.widestSupported).path)
        #expect(SIMDPath.allCases.map(\.description) == ["baseline", "avx2", "avx512"])
    }

    @Test("withPath switches and restores", arguments: SIMDPath.supported)
    func withPathRestores(_ path: SIMDPath) {
        let before = SIMDPath.active
        #expect(SIMDPath.withPath(path) { SIMDPath.active } == path)
        #expect(SIMDPath.active == before)
    }

    // MARK: Same bits on every path

    /// Random values over each kernel's range, the special values, and an odd length, so the
    /// vector blocks, the out-of-range fallback inside a block and the scalar tail all run.
    static let inputs: [Float] = {
        var generator = RandomGenerator(seed: 16)
        var values = (0..<4093).map { _ in Float(generator.nextUnit() * 240 - 120) }
        values += (0..<2000).map { _ in Float(generator.nextUnit() * 12 - 6) }
        values += [0, -0.0, .infinity, -.infinity, .nan, 88, 88.5, 89, -88, -87.5, -104, 1e-30, -1e-30,
                   .leastNonzeroMagnitude, .greatestFiniteMagnitude, -.greatestFiniteMagnitude, 0.25, -0.25,
                   0.2499999, 9.5, -9.5, 9.6, 4, -4, 4.0001]
        return values
    }()

    /// Outputs of every kernel on `inputs`: exp, sigmoid, tanh, gelu, the gate, and the backward.
    static func kernelOutputs() -> [String: [Float]] {
        let x = Tensor(inputs)
        let other = Tensor(inputs.reversed().map { $0 / 100 })
        let upstream = Tensor(inputs.indices.map { Float($0 % 7) - 3 })
        let leaf = x.requiringGrad()
        let grad = (leaf.gelu() * upstream).sum().gradients(wrt: [leaf])[0]
        let linear = channelLinearGELUGradients(weight: Self.linearWeight)
        let gate = geluGateGradients(inputs, inputs.reversed().map { $0 / 100 }, inputs.indices.map { Float($0 % 7) - 3 })
        return [
            "exp": x.exp().floats, "sigmoid": x.sigmoid().floats, "tanh": x.tanh().floats,
            "gelu": x.gelu().floats, "geluGate": Tensor.geluGate(x, other).floats, "geluBackward": grad.floats,
            "channelLinearGELU dx": linear.dx, "channelLinearGELU dw": linear.dw, "channelLinearGELU db": linear.db,
            "geluGate ∂a": gate.a, "geluGate ∂b": gate.b,
        ]
    }

    // MARK: The fused channel-major Linear + GELU backward (gz = g·gelu′(z) and its row sums)

    /// Images, channels and tokens of the fused Linear + GELU checks: 3 blocks of 64 and a tail of 11.
    static let linearShape = (batch: 2, channels: 6, tokens: 203)

    /// A weight that mixes channels with both signs and whose products are exact in float: one
    /// entry per row, a signed power of two, in a permuted column.
    ///
    /// Why exact: the forward product's bits depend on its kernel, not on the element-wise code under
    /// test here. On AVX-512 the channel-major Linear runs on SLKD's own kernel, which sums in the
    /// order of OpenBLAS's SkylakeX kernels, while the baseline path runs whatever kernels OpenBLAS
    /// chose: with a random weight, a Xeon on which OpenBLAS ran its Prescott kernels gave another z,
    /// and so other gradients (1 420 of 2 436 dx differed in the last bits). The products are
    /// checked against Float64 and PyTorch in SIMDPathTests+Linear and `channelLinearExistingChecks`.
    static let linearWeight: [Float] = {
        let c = linearShape.channels
        var weight = [Float](repeating: 0, count: c * c)
        for o in 0..<c { weight[o * c + (o * 5 + 1) % c] = o % 2 == 0 ? 0.5 : -2 }
        return weight
    }()

    /// Inputs over GELU's interesting range, finite (the GEMMs would turn ∞ into NaN anyway).
    static let linearInputs: [Float] = {
        var generator = RandomGenerator(seed: 62)
        let (b, c, l) = linearShape
        return (0..<(b * c * l)).map { _ in Float(generator.nextUnit() * 12 - 6) }
    }()

    static let linearUpstream: [Float] = linearInputs.indices.map { Float($0 % 7) - 3 + 0.125 }

    /// dx, dW and db of Σ upstream·gelu(W·x + 0) through `Tensor.uformerChannelLinear`.
    static func channelLinearGELUGradients(weight: [Float]) -> (dx: [Float], dw: [Float], db: [Float]) {
        let (b, c, l) = linearShape
        let x = Tensor(shape: [b, c, l], scalars: linearInputs).requiringGrad()
        let w = Tensor(shape: [c, c], scalars: weight).requiringGrad()
        let bias = Tensor(shape: [c], scalars: [Float](repeating: 0, count: c)).requiringGrad()
        let y = Tensor.uformerChannelLinear(x, weight: w, bias: bias, gelu: true)
        let grads = (y * Tensor(shape: [b, c, l], scalars: linearUpstream)).sum().gradients(wrt: [x, w, bias])
        return (grads[0].floats, grads[1].floats, grads[2].floats)
    }

    /// With W = I and a zero bias, z = x exactly and dx = gz exactly, so the kernel's gz is seen
    /// directly: it equals g·gelu′(z) of the scalar Swift forms bit for bit, and db[o] (the row
    /// sums over both images) equals the float sum kernel's order on each row, added image by
    /// image, bit for bit, and lies within 1e-6 relative of the double sum.
    @Test("the fused Linear + GELU backward equals the scalar forms and the sum kernel's order", arguments: SIMDPath.supported)
    func channelLinearGELUBackward(_ path: SIMDPath) {
        let (b, c, l) = Self.linearShape
        var identity = [Float](repeating: 0, count: c * c)
        for i in 0..<c { identity[i * c + i] = 1 }
        let (dx, db, rowSums) = SIMDPath.withPath(path) {
            let g = Self.channelLinearGELUGradients(weight: identity)
            let rows = (0..<(b * c)).map { r in
                Tensor(Array(g.dx[(r * l)..<((r + 1) * l)])).sum().floats[0]
            }
            return (g.dx, g.db, rows)
        }
        var bad = 0
        for i in dx.indices where dx[i] != Self.linearUpstream[i] * Self.scalarGELUDerivative(Self.linearInputs[i]) { bad += 1 }
        #expect(bad == 0, "gz mismatches on \(path): \(bad) of \(dx.count)")
        for o in 0..<c {
            var expected: Float = 0
            for i in 0..<b { expected += rowSums[i * c + o] }
            #expect(db[o].bitPattern == expected.bitPattern, "db[\(o)] on \(path): \(db[o]) vs \(expected)")
            var exact = 0.0
            for i in 0..<b { for t in 0..<l { exact += Double(dx[(i * c + o) * l + t]) } }
            #expect(Swift.abs(Double(db[o]) - exact) <= 1e-6 * Swift.max(1, Swift.abs(exact)), "db[\(o)] on \(path): \(db[o]) vs \(exact)")
        }
    }

    /// Without a graph the fused forward runs GELU in place on the product's buffer; the C kernel
    /// takes its own loop for that (the vectorised two-pointer loop rejects equal pointers). With
    /// W = I and a zero bias, z = x exactly, so the result must be gelu(x) bit for bit, ∞ and NaN
    /// included, and the odd token count reaches the scalar tail.
    @Test("the fused Linear + GELU forward without a graph equals gelu(x) bit for bit", arguments: SIMDPath.supported)
    func channelLinearGELUInPlace(_ path: SIMDPath) {
        let tokens = Self.inputs.count
        let (fused, reference) = SIMDPath.withPath(path) {
            withoutGradients {
                let x = Tensor(shape: [1, 1, tokens], scalars: Self.inputs)
                let y = Tensor.uformerChannelLinear(x, weight: Tensor(shape: [1, 1], scalars: [Float(1)]),
                                                    bias: Tensor(shape: [1], scalars: [Float(0)]), gelu: true)
                return (y.floats, Tensor(Self.inputs.map { $0 + 0 }).gelu().floats)
            }
        }
        var bad = 0
        for i in fused.indices where fused[i].bitPattern != reference[i].bitPattern && !(fused[i].isNaN && reference[i].isNaN) {
            bad += 1
        }
        #expect(bad == 0, "in-place GELU mismatches on \(path): \(bad) of \(fused.count)")
    }

    /// The fused op's PyTorch vectors (uformer_fused.json, UformerFusedTests' tolerances) and its
    /// Float64 gradient checks, on every path.
    @Test("the fused Linear + GELU's PyTorch vectors and Float64 gradient checks pass on every path", arguments: SIMDPath.supported)
    func channelLinearExistingChecks(_ path: SIMDPath) throws {
        let cases = try loadReferenceCases("uformer_fused").filter { $0.op.hasPrefix("channel_linear") }
        #expect(cases.contains { $0.op == "channel_linear_gelu" })
        SIMDPath.withPath(path) {
            for c in cases {
                let gelu = c.op == "channel_linear_gelu"
                let op: ([Tensor]) -> Tensor = { t in
                    Tensor.uformerChannelLinear(t[0], weight: t[1], bias: t.count > 2 ? t[2] : nil, gelu: gelu,
                                                residual: t.count > 3 ? t[3] : nil)
                }
                checkAgainstReference(c, dtype: .float32, rtol: 1e-5, atol: 1e-5, op)
                checkAgainstReference(c, rtol: 1e-10, atol: 1e-12, op)
                let report = gradCheckDifferentiableInputs(c, op)
                #expect(report.passed, "\(c.name) on \(path): \(report)")
            }
        }
    }

    @Test("every path returns the baseline's bits", arguments: SIMDPath.supported)
    func sameBitsAsBaseline(_ path: SIMDPath) {
        let baseline = SIMDPath.withPath(.baseline) { Self.kernelOutputs() }
        let wide = SIMDPath.withPath(path) { Self.kernelOutputs() }
        for (name, expected) in baseline {
            let actual = wide[name]!
            let differ = zip(actual, expected).filter { $0.bitPattern != $1.bitPattern && !($0.isNaN && $1.isNaN) }.count
            #expect(differ == 0, "\(name) on \(path): \(differ) of \(expected.count) differ from baseline")
        }
    }

    @Test("the float sum has the same bits on every path and is close to the double sum", arguments: SIMDPath.supported)
    func sumOnEveryPath(_ path: SIMDPath) {
        var generator = RandomGenerator(seed: 61)
        // Lengths around the 64 lanes and the tail, and one of a whole feature map.
        for n in [1, 2, 63, 64, 65, 127, 1000, 96 * 128 * 128 + 5] {
            let xs = (0..<n).map { _ in Float(generator.nextUnit() * 2 - 1) }
            let x = Tensor(xs)
            let wide = SIMDPath.withPath(path) { x.sum().floats[0] }
            let baseline = SIMDPath.withPath(.baseline) { x.sum().floats[0] }
            #expect(wide.bitPattern == baseline.bitPattern, "n = \(n) on \(path)")
            let exact = xs.reduce(0.0) { $0 + Double($1) }
            let magnitude = xs.reduce(0.0) { $0 + Swift.abs(Double($1)) }
            // Error bound of 64-lane summation: (n/64 + 6) roundings of at most 2⁻²⁴ of Σ|x|.
            #expect(Swift.abs(Double(wide) - exact) <= (Double(n) / 64 + 6) * 0x1p-24 * magnitude, "n = \(n)")
        }
    }

    // MARK: exp and sigmoid against glibc and the exact values

    /// ulps of `actual` from `exact`, in the float spacing at `exact`.
    static func ulps(_ actual: Float, _ exact: Double) -> Double {
        if actual.isNaN || exact.isNaN { return actual.isNaN == exact.isNaN ? 0 : .infinity }
        if actual.isInfinite || Float(exact).isInfinite { return Double(actual) == Double(Float(exact)) ? 0 : .infinity }
        return Swift.abs(Double(actual) - exact) / Double(Float(exact).ulp)
    }

    struct SweepResult {
        var expVsLibc = 0, expVsLibcInFloatRange = 0, expWorstUlp = 0.0, sigmoidWorstUlp = 0.0, checked = 0
        var expFloatRangeChecked = 0
    }

    /// Where the exp kernel runs in float lanes (`slkd_exp_float`); glibc's `expf` bits elsewhere.
    static func inExpFloatRange(_ x: Float) -> Bool { x >= -87 && x <= 88 }

    /// Every `step`-th float bit pattern (all of them with SLKD_EXHAUSTIVE=1): NaNs, ±∞, denormals,
    /// overflow and underflow included.
    static func sweepExpSigmoid(step: UInt64) -> SweepResult {
        var result = SweepResult()
        let chunk = 1 << 20
        var pattern: UInt64 = 0
        var xs = [Float](repeating: 0, count: chunk)
        while pattern < 1 << 32 {
            var n = 0
            while n < chunk && pattern < 1 << 32 {
                xs[n] = Float(bitPattern: UInt32(pattern))
                n += 1
                pattern += step
            }
            let x = Tensor(shape: [n], scalars: Array(xs[0..<n]))
            let e = x.exp().floats, s = x.sigmoid().floats
            for i in 0..<n {
                let v = xs[i]
                let libc = Foundation.expf(v)
                let differs = e[i].bitPattern != libc.bitPattern && !(e[i].isNaN && libc.isNaN)
                if inExpFloatRange(v) {
                    result.expFloatRangeChecked += 1
                    if differs { result.expVsLibcInFloatRange += 1 }
                } else if differs {
                    result.expVsLibc += 1
                }
                let d = Double(v)
                result.expWorstUlp = Swift.max(result.expWorstUlp, ulps(e[i], Foundation.exp(d)))
                let exactSigmoid = d >= 0 ? 1 / (1 + Foundation.exp(-d)) : Foundation.exp(d) / (1 + Foundation.exp(d))
                result.sigmoidWorstUlp = Swift.max(result.sigmoidWorstUlp, ulps(s[i], exactSigmoid))
            }
            result.checked += n
        }
        return result
    }

    /// Every float in [−110, −87): the vector form's underflow range (+0 below log 2^-150,
    /// denormals above), where a softmax under Uformer's −100 shift mask evaluates exp, and which
    /// the float lanes leave to expf's algorithm in double lanes.
    @Test("exp equals expf at every float in [−110, −87)", arguments: SIMDPath.supported)
    func expUnderflowRange(_ path: SIMDPath) {
        let low = (-110 as Float).bitPattern, high = (-87 as Float).nextDown.bitPattern
        let xs = (high...low).map { Float(bitPattern: $0) } + [-.infinity]
        let e = SIMDPath.withPath(path) { Tensor(shape: [xs.count], scalars: xs).exp().floats }
        let differing = zip(xs, e).filter { Foundation.expf($0).bitPattern != $1.bitPattern }
        #expect(differing.isEmpty, "\(differing.count) of \(xs.count) differ from expf on \(path), first \(differing.first.map { "\($0.0)" } ?? "")")
        #expect(xs.count > 3_000_000)
    }

    /// Every float in [−88, −86] and [87, 89]: both edges of the float lanes' range, within a
    /// block and across blocks of 64 that mix lanes inside and outside it.
    @Test("exp is within 1 ulp at every float across the edges of its float range", arguments: SIMDPath.supported)
    func expFloatRangeEdges(_ path: SIMDPath) {
        let below = ((-86 as Float).bitPattern...(-88 as Float).bitPattern).map { Float(bitPattern: $0) }
        let above = ((87 as Float).bitPattern...(89 as Float).bitPattern).map { Float(bitPattern: $0) }
        for xs in [below, above] {
            let e = SIMDPath.withPath(path) { Tensor(shape: [xs.count], scalars: xs).exp().floats }
            var worst = 0.0, at: Float = 0, outsideDiffering = 0
            for (x, y) in zip(xs, e) {
                let u = Self.ulps(y, Foundation.exp(Double(x)))
                if u > worst { worst = u; at = x }
                if !Self.inExpFloatRange(x) && y.bitPattern != Foundation.expf(x).bitPattern { outsideDiffering += 1 }
            }
            #expect(worst <= 1, "exp: \(worst) ulp at \(at) on \(path)")
            #expect(outsideDiffering == 0, "\(outsideDiffering) results outside [−87, 88] differ from expf on \(path)")
            #expect(xs.count > 100_000)
        }
    }

    @Test("exp is within 1 ulp (expf's bits outside [−87, 88]), sigmoid within 2.5 ulp, over a dense sweep",
          arguments: SIMDPath.supported)
    func expAndSigmoidSweep(_ path: SIMDPath) {
        let exhaustive = ProcessInfo.processInfo.environment["SLKD_EXHAUSTIVE"] == "1"
        let r = SIMDPath.withPath(path) { Self.sweepExpSigmoid(step: exhaustive ? 1 : 4099) }
        #expect(r.checked > 1_000_000)
        #expect(r.expVsLibc == 0, "\(r.expVsLibc) of \(r.checked) exp results outside [−87, 88] differ from expf on \(path)")
        #expect(r.expWorstUlp <= 1, "exp: \(r.expWorstUlp) ulp on \(path)")
        // Inside the range the float lanes agree with expf on 99.2 % of all floats: a rate far
        // above 1 % would mean a wrong constant that the ulp bound alone might let through.
        #expect(r.expFloatRangeChecked > 400_000)
        #expect(Double(r.expVsLibcInFloatRange) <= 0.02 * Double(r.expFloatRangeChecked),
                "\(r.expVsLibcInFloatRange) of \(r.expFloatRangeChecked) differ from expf in [−87, 88]")
        #expect(r.sigmoidWorstUlp <= 2.5, "sigmoid: \(r.sigmoidWorstUlp) ulp on \(path)")
    }

    /// The kernel pads a last partial block and copies each block before it writes, so that rows
    /// of any length, and rows exponentiated in place (a softmax), go through the vector loop:
    /// every element must still get the bits it gets inside a long array.
    @Test("exp gives the same bits for rows of every length and in place (softmax rows)", arguments: SIMDPath.supported)
    func expRowsAndInPlace(_ path: SIMDPath) {
        let xs = Self.inputs
        SIMDPath.withPath(path) {
            let whole = Tensor(xs).exp().floats
            for n in 1...130 {
                let start = (n * 37) % (xs.count - n)
                let row = Tensor(Array(xs[start..<(start + n)])).exp().floats
                let differ = (0..<n).filter { row[$0].bitPattern != whole[start + $0].bitPattern && !(row[$0].isNaN && whole[start + $0].isNaN) }
                #expect(differ.isEmpty, "length \(n) on \(path): \(differ.count) differ")
            }
            // Softmax over rows of 48 (Restormer's attention) and 70 exponentiates each shifted
            // row in place; the same steps with an out-of-place exp must give the same bits.
            var generator = RandomGenerator(seed: 23)
            for width in [48, 70] {
                let values = (0..<(3 * width)).map { _ in Float(generator.nextUnit() * 40 - 20) }
                let softmax = Tensor(shape: [3, width], scalars: values).softmax(axis: 1).floats
                for r in 0..<3 {
                    let row = Array(values[(r * width)..<((r + 1) * width)])
                    let top = row.max()!
                    let e = Tensor(row.map { $0 - top }).exp().floats
                    var sum: Float = 0
                    for v in e { sum += v }
                    let scale = 1 / sum
                    let expected = e.map { $0 * scale }
                    let actual = Array(softmax[(r * width)..<((r + 1) * width)])
                    #expect(actual.map(\.bitPattern) == expected.map(\.bitPattern), "width \(width), row \(r) on \(path)")
                }
            }
        }
    }

    @Test("exp at the edges of the float range", arguments: SIMDPath.supported)
    func expEdges(_ path: SIMDPath) {
        // Around overflow (88.7228), the smallest normal result (−87.3365), the smallest denormal
        // (−103.972) and beyond.
        let finite: [Float] = [88.72283, 88.7, -87.33654, -87.33655, -100, -103.97, 0, -0.0, .leastNonzeroMagnitude]
        let overflow: [Float] = [88.72284, 89, 1000, .greatestFiniteMagnitude, .infinity]
        let underflow: [Float] = [-103.98, -104, -150, -.greatestFiniteMagnitude, -.infinity]
        let e = SIMDPath.withPath(path) { Tensor(finite + overflow + underflow + [.nan]).exp().floats }
        for (i, v) in finite.enumerated() {
            #expect(e[i].isFinite && Self.ulps(e[i], Foundation.exp(Double(v))) <= 1, "exp(\(v)) = \(e[i])")
        }
        #expect(e[finite.count..<(finite.count + overflow.count)].allSatisfy { $0 == .infinity })
        #expect(e[(finite.count + overflow.count)..<(e.count - 1)].allSatisfy { $0 == 0 && $0.sign == .plus })
        #expect(e[e.count - 1].isNaN)
        #expect(e[6] == 1 && e[7] == 1 && e[8] == 1)
    }

    // MARK: tanh and GELU

    @Test("tanh is within 1 ulp of the exact value over a dense sweep", arguments: SIMDPath.supported)
    func tanhSweep(_ path: SIMDPath) {
        var xs: [Float] = []
        var v: Float = -12
        while v <= 12 { xs.append(v); v += 0.000_37 }
        for e in stride(from: -40, through: 0, by: 1) {
            for m: Float in [1, 1.1, 1.37, 1.5, 1.99] { let t = m * Float(Foundation.pow(2.0, Double(e))); xs += [t, -t] }
        }
        xs += [0, -0.0, .infinity, -.infinity, .nan, .leastNonzeroMagnitude, 100, -100, 0.25, 0.2499999]
        let y = SIMDPath.withPath(path) { Tensor(xs).tanh().floats }
        var worst = 0.0, at: Float = 0
        for (i, x) in xs.enumerated() {
            let u = Self.ulps(y[i], Foundation.tanh(Double(x)))
            if u > worst { worst = u; at = x }
        }
        #expect(worst <= 1, "tanh: \(worst) ulp at \(at) on \(path)")
        #expect(y[xs.count - 10].bitPattern == Float(0).bitPattern && y[xs.count - 9].bitPattern == Float(-0.0).bitPattern)
    }

    /// The float-lane tanh switches from its polynomial to the compensated quotient at 3/4 and has
    /// its largest error just above it (0.894 ulp at 0x1.c1992p-1 over all 2^32 floats, measured
    /// outside the suite): every float in [1/2, 1], and every 4099th bit pattern (all of them with
    /// SLKD_EXHAUSTIVE=1), NaNs, ±∞ and denormals included.
    @Test("tanh is within 1 ulp at every float in [1/2, 1] and over every 4099th bit pattern", arguments: SIMDPath.supported)
    func tanhAroundItsSwitch(_ path: SIMDPath) {
        let step: UInt32 = ProcessInfo.processInfo.environment["SLKD_EXHAUSTIVE"] == "1" ? 1 : 4099
        let around = ((0.5 as Float).bitPattern...(1 as Float).bitPattern).map { Float(bitPattern: $0) }
        let spread = stride(from: 0 as UInt64, to: 1 << 32, by: Int(step)).map { Float(bitPattern: UInt32($0)) }
        for xs in [around, spread] {
            var worst = 0.0, at: Float = 0
            for chunk in stride(from: 0, to: xs.count, by: 1 << 20) {
                let part = Array(xs[chunk..<Swift.min(chunk + (1 << 20), xs.count)])
                let y = SIMDPath.withPath(path) { Tensor(shape: [part.count], scalars: part).tanh().floats }
                for (x, t) in zip(part, y) where !x.isNaN {
                    let u = Self.ulps(t, Foundation.tanh(Double(x)))
                    if u > worst { worst = u; at = x }
                }
                #expect(zip(part, y).allSatisfy { !$0.0.isNaN || $0.1.isNaN }, "tanh of NaN is NaN on \(path)")
            }
            #expect(worst <= 1, "tanh: \(worst) ulp at \(at) on \(path)")
            #expect(xs.count > 1_000_000)
        }
    }

    /// SLKDTensor's scalar GELU and its derivative in Float, written out from the public pieces.
    static func scalarGELU(_ x: Float) -> Float {
        x * (1 + SpecialFunctions.erfForActivation(x * (1 / Float(2).squareRoot()))) / 2
    }

    static func scalarGELUDerivative(_ x: Float) -> Float {
        let cdf: Float = (1 + SpecialFunctions.erfForActivation(x * (1 / Float(2).squareRoot()))) / 2
        let density: Float = SpecialFunctions.expOfNonPositiveForActivation(-x * x / 2) / (2 * Float.pi).squareRoot()
        return cdf + x * density
    }

    @Test("GELU, its gate and its backward equal the scalar Swift forms bit for bit", arguments: SIMDPath.supported)
    func geluMatchesScalar(_ path: SIMDPath) {
        let xs = Self.inputs
        let bs = xs.reversed().map { $0 / 100 }
        let gs = xs.indices.map { Float($0 % 7) - 3 }
        let (y, gate, grad, gateGrads) = SIMDPath.withPath(path) {
            let leaf = Tensor(xs).requiringGrad()
            let grad = (leaf.gelu() * Tensor(gs)).sum().gradients(wrt: [leaf])[0]
            return (Tensor(xs).gelu().floats, Tensor.geluGate(Tensor(xs), Tensor(bs)).floats, grad.floats,
                    Self.geluGateGradients(xs, bs, gs))
        }
        func same(_ a: Float, _ b: Float) -> Bool { a.bitPattern == b.bitPattern || (a.isNaN && b.isNaN) }
        let twoStep = Self.twoStepGateGradients(xs, bs, gs)
        var bad = (0, 0, 0, 0, 0)
        for i in xs.indices {
            if !same(y[i], Self.scalarGELU(xs[i])) { bad.0 += 1 }
            if !same(gate[i], Self.scalarGELU(xs[i]) * bs[i]) { bad.1 += 1 }
            if !same(grad[i], gs[i] * Self.scalarGELUDerivative(xs[i])) { bad.2 += 1 }
            // The gate's fused backward (one C pass for both inputs): the two-step rule's roundings.
            if !same(gateGrads.a[i], twoStep.a[i]) { bad.3 += 1 }
            if !same(gateGrads.b[i], twoStep.b[i]) { bad.4 += 1 }
        }
        #expect(bad == (0, 0, 0, 0, 0), "gelu, gate, backward, gate ∂a, gate ∂b mismatches on \(path): \(bad)")
    }

    /// ∂/∂a and ∂/∂b of Σ g·gelu(a)·b, both inputs needing gradients (the fused backward).
    static func geluGateGradients(_ a: [Float], _ b: [Float], _ g: [Float]) -> (a: [Float], b: [Float]) {
        let (la, lb) = (Tensor(a).requiringGrad(), Tensor(b).requiringGrad())
        let grads = (Tensor.geluGate(la, lb) * Tensor(g)).sum().gradients(wrt: [la, lb])
        return (grads[0].floats, grads[1].floats)
    }

    /// The gate over the channel halves of a batch of two: each half is a view made of one
    /// contiguous run per image, which the fused backward walks run by run. Its gradient must be
    /// the two-step rule's, value for value, with the same upstream gradient.
    @Test("the fused gate backward over channel halves of a batch equals the two-step rule", arguments: SIMDPath.supported)
    func geluGateChannelHalvesBackward(_ path: SIMDPath) {
        let shape = [2, 6, 5, 7]
        var generator = RandomGenerator(seed: 77)
        let values = (0..<Shape.count(shape)).map { _ in Float(generator.nextUnit() * 12 - 6) }
        let upstream = (0..<(Shape.count(shape) / 2)).map { Float($0 % 5) - 2 + 0.25 }
        let (fused, twoStep) = SIMDPath.withPath(path) {
            let leaf = Tensor(shape: shape, scalars: values).requiringGrad()
            let fused = (leaf.geluGateOverChannels() * Tensor(shape: [2, 3, 5, 7], scalars: upstream)).sum()
                .gradients(wrt: [leaf])[0].floats
            // The two-step rule in scalars on contiguous copies of the halves.
            let x = Tensor(shape: shape, scalars: values)
            let a = x.narrowed(axis: 1, start: 0, length: 3).contiguous()
            let b = x.narrowed(axis: 1, start: 3, length: 3).contiguous()
            let g = Tensor(shape: [2, 3, 5, 7], scalars: upstream)
            return (fused, Self.twoStepGateGradients(a.floats, b.floats, g.floats))
        }
        // Reassemble [∂a | ∂b] per image, as the gradient of the whole input lays them out.
        let plane = 3 * 5 * 7
        var expected: [Float] = []
        for image in 0..<2 {
            expected += twoStep.a[(image * plane)..<((image + 1) * plane)]
            expected += twoStep.b[(image * plane)..<((image + 1) * plane)]
        }
        #expect(fused.count == expected.count)
        // Equal values (the input's gradient adds the two halves' gradients to zeros, so −0 comes back as +0).
        let mismatches = fused.indices.filter { fused[$0] != expected[$0] }
        #expect(mismatches.isEmpty, "on \(path): \(mismatches.count) mismatches, first \(mismatches.prefix(3).map { (fused[$0], expected[$0]) })")
    }

    /// An input whose channel halves are not contiguous runs (a permuted view) takes the two-step
    /// rule and a concatenation; its gradient must equal the fused one of a contiguous copy.
    @Test func geluGateOverChannelsOfAPermutedView() {
        var generator = RandomGenerator(seed: 78)
        let stored = Tensor(shape: [2, 5, 7, 6], scalars: (0..<420).map { _ in Float(generator.nextUnit() * 12 - 6) })
        let upstream = Tensor(shape: [2, 3, 5, 7], scalars: (0..<210).map { Float($0 % 5) - 2 + 0.25 })
        func gradient(_ input: Tensor) -> [Float] {
            let leaf = input.requiringGrad()
            return (leaf.geluGateOverChannels() * upstream).sum().gradients(wrt: [leaf])[0].contiguous().floats
        }
        let view = stored.permuted([0, 3, 1, 2])  // [2, 6, 5, 7], channels strided
        #expect(!view.isContiguous)
        #expect(gradient(view) == gradient(view.contiguous()))
    }

    /// The gate gradients by the two-step rule in scalars: (g·gelu′(a))·b and g·gelu(a).
    static func twoStepGateGradients(_ a: [Float], _ b: [Float], _ g: [Float]) -> (a: [Float], b: [Float]) {
        (a.indices.map { g[$0] * scalarGELUDerivative(a[$0]) * b[$0] }, a.indices.map { g[$0] * scalarGELU(a[$0]) })
    }

    // MARK: PyTorch

    static let cases = (try? loadReferenceCases("simd_math")) ?? []

    /// Float32 against PyTorch's float64 values at the same (float32) inputs: exp and tanh within
    /// 1 ulp, sigmoid within 2.5 ulp; GELU and its gate within 1e-6 absolute, since its float erf
    /// approximation leaves errors of a few 1e-7 where 1 + erf cancels (x < −3), as PyTorch's own
    /// float32 GELU does. Gradients within 1e-6 relative plus 3e-7 absolute (GELU's 1e-6): the
    /// float32 rules y(1 − y) and 1 − y² cancel near |y| = 1.
    @Test("float32 kernels match PyTorch's float64 values", arguments: SIMDPath.supported)
    func matchesPyTorch(_ path: SIMDPath) throws {
        #expect(Self.cases.count == 5)
        for c in Self.cases {
            let op: ([Tensor]) -> Tensor = switch c.op {
            case "exp": { $0[0].exp() }
            case "sigmoid": { $0[0].sigmoid() }
            case "tanh": { $0[0].tanh() }
            case "gelu": { $0[0].gelu() }
            case "gelu_gate": { Tensor.geluGate($0[0], $0[1]) }
            default: fatalError("unknown op \(c.op)")
            }
            let inputs = c.orderedInputs(.float32).map { $0.requiringGrad() }
            let (y, grads) = SIMDPath.withPath(path) {
                let y = op(inputs)
                return (y, (y * c.upstream!.tensor(.float32)).sum().gradients(wrt: inputs))
            }
            let expected = c.output.tensor().doubles
            if c.op.hasPrefix("gelu") {
                expectClose(y, c.output.tensor(), rtol: 1e-6, atol: 1e-6, "\(c.name) on \(path)")
            } else {
                let bound = c.op == "sigmoid" ? 2.5 : 1.0
                let worst = zip(y.floats, expected).map { Self.ulps($0, $1) }.max() ?? 0
                #expect(worst <= bound, "\(c.name) on \(path): \(worst) ulp")
            }
            let gradientSlack = c.op.hasPrefix("gelu") ? 1e-6 : 3e-7
            for (k, name) in c.inputOrder.enumerated() {
                expectClose(grads[k], c.grads[name]!.tensor(), rtol: 1e-6, atol: gradientSlack, "\(c.name) d\(name) on \(path)")
            }
        }
    }

    @Test("the float32 GELU backward agrees with a central difference of its forward", arguments: SIMDPath.supported)
    func geluBackwardMatchesDifference(_ path: SIMDPath) {
        let xs: [Float] = stride(from: -6, through: 6, by: 0.0371).map { Float($0) }
        let h: Float = 1.0 / 64
        let (grad, plus, minus) = SIMDPath.withPath(path) {
            let leaf = Tensor(xs).requiringGrad()
            let grad = leaf.gelu().sum().gradients(wrt: [leaf])[0].floats
            return (grad, Tensor(xs.map { $0 + h }).gelu().floats, Tensor(xs.map { $0 - h }).gelu().floats)
        }
        for i in xs.indices {
            let difference = (Double(plus[i]) - Double(minus[i])) / Double(2 * h)
            #expect(Swift.abs(Double(grad[i]) - difference) <= 2e-4, "gelu′(\(xs[i])) = \(grad[i]), difference \(difference)")
        }
    }

    // MARK: The routed ops' existing PyTorch vectors and gradient checks

    /// The ops that run the C kernels, by the op names of elementwise.json and vision_norm_act.json
    /// (softmax through exp, the GELU gate through GELU and its backward).
    static func routedOp(_ c: ReferenceCase) -> (([Tensor]) -> Tensor)? {
        switch c.op {
        case "exp": { $0[0].exp() }
        case "sigmoid": { $0[0].sigmoid() }
        case "tanh": { $0[0].tanh() }
        case "gelu": { $0[0].gelu() }
        case "gelu_gate": { Tensor.geluGate($0[0], $0[1]) }
        case "gelu_gate_channels": { $0[0].geluGateOverChannels() }
        case "softmax": { $0[0].softmax(axis: c.params["axis"]!.int) }
        case "log_softmax": { $0[0].logSoftmax(axis: c.params["axis"]!.int) }
        case "channel_ln_withbias": { $0[0].channelLayerNorm(weight: $0[1], bias: $0[2], kind: .withBias) }
        case "channel_ln_biasfree": { $0[0].channelLayerNorm(weight: $0[1], kind: .biasFree) }
        default: nil
        }
    }

    /// The same tolerances as ElementwiseTests and VisionNormActTests. The Float64 runs go through
    /// Swift on every path; they are repeated here so that a path switch that leaked into Float64
    /// would show.
    @Test("the routed ops' PyTorch vectors and Float64 gradient checks pass on every path", arguments: SIMDPath.supported)
    func existingChecks(_ path: SIMDPath) throws {
        let cases = try loadReferenceCases("elementwise") + loadReferenceCases("vision_norm_act")
        var checked: [String] = []
        SIMDPath.withPath(path) {
            for c in cases {
                guard let op = Self.routedOp(c) else { continue }
                let vision = !["exp", "sigmoid", "tanh"].contains(c.op)
                checkAgainstReference(c, dtype: .float32, rtol: 1e-5, atol: vision ? 1e-5 : 1e-6, op)
                checkAgainstReference(c, rtol: 1e-10, atol: 1e-12, op)
                let report = gradCheckDifferentiableInputs(c, op)
                #expect(report.passed, "\(c.name) on \(path): \(report)")
                checked.append(c.name)
            }
        }
        #expect(checked.count == 13, "\(checked)")
    }
}
