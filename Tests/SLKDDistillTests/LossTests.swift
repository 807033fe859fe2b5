import Testing
import SLKDDistill

@Suite("Image-level losses")
struct LossTests {
    static let cases = (try? loadReferenceCases("losses")) ?? []

    static func op(_ c: ReferenceCase) -> ([Tensor]) -> Tensor {
        switch c.op {
        case "kl": { ChannelKLDivergence(temperature: c.params["tau"]!.number)(student: $0[0], teacher: $0[1]) }
        case "l1": { PixelLoss.l1($0[0], $0[1]) }
        case "charbonnier": { PixelLoss.charbonnier($0[0], $0[1]) }
        default: fatalError("unknown loss \(c.op)")
        }
    }

    @Test("match PyTorch", arguments: cases.map(\.name))
    func matchesPyTorch(name: String) throws {
        let c = try #require(Self.cases.first { $0.name == name })
        checkAgainstReference(c, rtol: 1e-10, atol: 1e-13, Self.op(c))
        checkAgainstReference(c, dtype: .float32, rtol: 1e-5, atol: 1e-6, Self.op(c))
    }

    @Test("pass float64 gradient checks with respect to the student", arguments: cases.map(\.name))
    func gradientCheck(name: String) throws {
        let c = try #require(Self.cases.first { $0.name == name })
        let inputs = c.orderedInputs()
        let report = gradCheck([inputs[0]]) { Self.op(c)([$0[0], inputs[1]]) }
        #expect(report.passed, "\(report)")
    }

    @Test func teacherSideGetsNoGradient() {
        var g = RandomGenerator(seed: 1)
        let s = Tensor.normal([1, 2, 3, 3], dtype: .float64, using: &g).requiringGrad()
        let t = Tensor.normal([1, 2, 3, 3], dtype: .float64, using: &g).requiringGrad()
        let grads = ChannelKLDivergence()(student: s, teacher: t).gradients(wrt: [s, t])
        #expect(grads[1].abs().max().item == 0)
        #expect(grads[0].abs().max().item > 0)
    }

    @Test func identicalOutputsHaveZeroDivergence() {
        var g = RandomGenerator(seed: 2)
        let x = Tensor.normal([2, 3, 4, 4], dtype: .float64, using: &g)
        #expect(Swift.abs(ChannelKLDivergence()(student: x, teacher: x).item) < 1e-15)
    }

    @Test func vectorsArePresent() { #expect(Self.cases.count == 4) }
}
