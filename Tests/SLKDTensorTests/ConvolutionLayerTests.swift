import Testing
import SLKDTensor

@Suite("Convolution and normalisation layers")
struct ConvolutionLayerTests {
    @Test func conv2dHasPyTorchKeysShapesAndInitialisationBounds() {
        var g = RandomGenerator(seed: 1)
        let conv = Conv2d(12, 8, kernelSize: 3, padding: 1, groups: 4, using: &g)
        let params = conv.namedParameters()
        #expect(params.map(\.key) == ["weight", "bias"])
        #expect(params[0].tensor.shape == [8, 3, 3, 3])
        // PyTorch: kaiming_uniform(a=√5) gives U(±1/√fan_in) for the weight, and so does the bias; fan_in = 3·3·3.
        let bound = 1 / 27.0.squareRoot()
        #expect(conv.weight.abs().max().item <= bound && conv.weight.abs().max().item > 0.8 * bound)
        #expect(conv.bias!.abs().max().item <= bound)
    }

    @Test func layersEqualTheirFunctionalForms() {
        var g = RandomGenerator(seed: 2)
        let x = Tensor.normal([2, 4, 6, 6], dtype: .float64, using: &g)
        let conv = Conv2d(4, 6, kernelSize: 3, stride: 2, padding: 1, dtype: .float64, using: &g)
        #expect(conv(x).doubles == Tensor.conv2d(x, weight: conv.weight, bias: conv.bias, stride: 2, padding: 1).doubles)
        let up = ConvTranspose2d(4, 2, kernelSize: 2, stride: 2, dtype: .float64, using: &g)
        #expect(up(x).shape == [2, 2, 12, 12])
        #expect(up.namedParameters().map(\.tensor.shape) == [[4, 2, 2, 2], [2]])
        let norm = ChannelLayerNorm(4, kind: .biasFree, dtype: .float64)
        #expect(norm.namedParameters().map(\.key) == ["weight"])
        let ln = LayerNorm(6, dtype: .float64)
        // With unit weight and zero bias every row has mean 0 and (biased) variance 1 − ε-correction.
        let y = ln(x)
        #expect(y.mean(axes: [-1]).abs().max().item < 1e-12)
        let v = y.variance(axes: [-1], unbiased: false)
        let expected = x.variance(axes: [-1], unbiased: false) / (x.variance(axes: [-1], unbiased: false) + 1e-5)
        #expect((v - expected).abs().max().item < 1e-12)
    }
}
