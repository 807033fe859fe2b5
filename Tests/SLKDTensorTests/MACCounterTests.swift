import Testing
import SLKDTensor

/// MAC counts against fvcore's formulas, evaluated by hand in the comments.
@Suite struct MACCounterTests {
    @Test func groupedStridedDilatedConvolution() {
        var g = RandomGenerator(seed: 11)
        // x [2,4,9,11], w [6,2,3,3] (groups 2), stride 2, padding 1, dilation 2:
        // H_out = (9+2−4−1)/2+1 = 4, W_out = (11+2−4−1)/2+1 = 5;
        // MACs = 2·6·(4/2)·3·3·4·5 = 4320 (bias not counted).
        let x = Tensor.uniform([2, 4, 9, 11], using: &g)
        let w = Tensor.uniform([6, 2, 3, 3], using: &g), b = Tensor.uniform([6], using: &g)
        let report = MACCounter.count {
            let y = Tensor.conv2d(x, weight: w, bias: b, stride: 2, padding: 1, dilation: 2, groups: 2)
            #expect(y.shape == [2, 6, 4, 5])
        }
        #expect(report.total == 4320)
        #expect(report.macs(.conv) == 4320)
        #expect(report.byOperator == [.conv: 4320])
    }

    @Test func rectangularConvolutionAndDepthwise() {
        var g = RandomGenerator(seed: 11)
        // stride (1,2), padding (0,1), kernel 3×2, x [1,3,6,7] → H_out 4, W_out (7+2−2)/2+1 = 4;
        // MACs = 1·5·3·3·2·4·4 = 1440. Depthwise 3×3 (groups 3) on [1,3,6,7], padding 1:
        // 3·1·9·6·7 = 1134.
        let x = Tensor.uniform([1, 3, 6, 7], using: &g)
        let w = Tensor.uniform([5, 3, 3, 2], using: &g), dw = Tensor.uniform([3, 1, 3, 3], using: &g)
        let report = MACCounter.count {
            _ = Tensor.conv2d(x, weight: w, stride: (1, 2), padding: (0, 1))
            _ = Tensor.conv2d(x, weight: dw, padding: 1, groups: 3)
        }
        #expect(report.total == 1440 + 1134)
    }

    @Test func transposedConvolution() {
        var g = RandomGenerator(seed: 11)
        // x [2,4,5,6], w [4,3,2,2], stride 2 → output [2,3,10,12]; fvcore: batch · weight numel ·
        // H_in · W_in = 2·48·5·6 = 2880. Grouped: w [4,1,3,3] groups 2, padding 1 → 1·36·5·6 = 1080.
        let x = Tensor.uniform([2, 4, 5, 6], using: &g)
        let w = Tensor.uniform([4, 3, 2, 2], using: &g), wg = Tensor.uniform([4, 1, 3, 3], using: &g)
        let x1 = x.narrowed(axis: 0, start: 0, length: 1)
        let report = MACCounter.count {
            #expect(Tensor.convTranspose2d(x, weight: w, stride: 2).shape == [2, 3, 10, 12])
            _ = Tensor.convTranspose2d(x1, weight: wg, padding: 1, groups: 2)
        }
        #expect(report.macs(.conv) == 2880 + 1080)
        #expect(report.total == 2880 + 1080)
    }

    @Test func linearOnTokensCountsAsLinear() {
        var g = RandomGenerator(seed: 11)
        // x [2,7,5] tokens through Linear(5→3): 14·5·3 = 210, as `linear` (its GEMM is not a matmul).
        let layer = Linear(5, 3, using: &g)
        let x = Tensor.uniform([2, 7, 5], using: &g)
        let report = MACCounter.count { _ = layer(x) }
        #expect(report.byOperator == [.linear: 210])
    }

    @Test func batchedAndBroadcastMatmul() {
        var g = RandomGenerator(seed: 11)
        // [3,4,5]·[3,5,6]: 3·4·6·5 = 360. [4,5]·[5,2]: 40. [2,1,4,5]·[3,5,6] broadcasts to batch
        // 6 but fvcore counts numel(left) · N = 40·6 = 240 (fvcore 0.1.5, Scripts/torchref/mac_counts.py).
        let a = Tensor.uniform([3, 4, 5], using: &g), b = Tensor.uniform([3, 5, 6], using: &g)
        let a2 = Tensor.uniform([2, 1, 4, 5], using: &g)
        let m = Tensor.uniform([4, 5], using: &g), n = Tensor.uniform([5, 2], using: &g)
        #expect(MACCounter.count { _ = a.matmul(b) }.total == 360)
        #expect(MACCounter.count { _ = a2.matmul(b) }.total == 240)
        #expect(MACCounter.count { _ = m.matmul(n) }.byOperator == [.matmul: 40])
    }

    @Test func layerNormAndAdaptivePooling() {
        var g = RandomGenerator(seed: 11)
        // nn.LayerNorm on [2,10,8] with affine weight: 5·160 = 800; without: 4·160 = 640.
        // adaptive_avg_pool2d on [2,3,4,5]: input numel 120.
        let x = Tensor.uniform([2, 10, 8], using: &g)
        let norm = LayerNorm(8)
        let plain = LayerNorm(8, elementwiseAffine: false)
        let report = MACCounter.count {
            _ = norm(x)
            _ = plain(x)
            _ = Tensor.uniform([2, 3, 4, 5], using: &g).adaptiveAvgPool2dToOne()
        }
        #expect(report.byOperator == [.layerNorm: 1440, .adaptiveAvgPool2d: 120])
    }

    @Test func interpolationCountsAsInFvcore() {
        var g = RandomGenerator(seed: 11)
        // fvcore: upsample_bilinear2d 4 × output numel = 4·8·16·16 = 8192; nearest 1 × 8·16·16 = 2048.
        let x = Tensor.uniform([1, 8, 8, 8], using: &g)
        let report = MACCounter.count {
            _ = x.bilinearResized(to: (16, 16), alignCorners: false)
            _ = x.bilinearResized(to: (16, 16), alignCorners: true)
            _ = x.nearestResized(to: (16, 16))
        }
        #expect(report.byOperator == [.upsampleBilinear2d: 16384, .upsampleNearest2d: 2048])
    }

    @Test func uncountedOperationsAddNothing() {
        var g = RandomGenerator(seed: 11)
        let x = Tensor.uniform([1, 8, 8, 8], using: &g)
        let w = Tensor.ones([8]), b = Tensor.zeros([8])
        let report = MACCounter.count {
            _ = (x * x + x).exp()
            _ = x.softmax(axis: -1)
            _ = x.gelu()
            _ = x.channelLayerNorm(weight: w, bias: b, kind: .withBias)
            _ = x.avgPool2d(kernel: 3, stride: 1, padding: 1, countIncludePad: false)
            _ = x.pixelShuffle(2)
            _ = x.pixelUnshuffle(2)
            _ = x.topK(2)
            _ = x.sum()
            _ = x.padded([(1, 1), (1, 1)], mode: .reflect)
        }
        #expect(report.total == 0)
        #expect(report.entries.isEmpty)
    }

    @Test func backwardIsNotCountedAndGradientModeDoesNotMatter() {
        var g = RandomGenerator(seed: 11)
        // Forward only: conv 1·4·3·9·5·5 = 2700 and linear 20·5·6 = 600 (tokens = 4·5 rows of W).
        let x = Tensor.uniform([1, 3, 5, 5], using: &g).requiringGrad()
        let conv = Conv2d(3, 4, kernelSize: 3, padding: 1, using: &g)
        let lin = Linear(5, 6, using: &g)
        func forward() -> Tensor { lin(conv(x)).sum() }
        let withGrad = MACCounter.count {
            let loss = forward()
            let grads = loss.backward(retainGraph: true)
            #expect(grads[conv.weight] != nil)
            _ = loss.gradients(wrt: [x])  // also through the engine
        }
        let inference = MACCounter.count { _ = withoutGradients { forward() } }
        #expect(withGrad.total == 2700 + 600)
        #expect(inference.total == 2700 + 600)
        #expect(withGrad.byOperator == [.conv: 2700, .linear: 600])
    }

    @Test func nothingIsCountedOutsideACountAndNestingCountsInnermost() {
        var g = RandomGenerator(seed: 11)
        let a = Tensor.uniform([4, 5], using: &g), b = Tensor.uniform([5, 2], using: &g)
        #expect(!MACCounter.isCounting)
        _ = a.matmul(b)
        var inner: MACReport?
        let outer = MACCounter.count {
            #expect(MACCounter.isCounting)
            _ = a.matmul(b)
            inner = MACCounter.count { _ = a.matmul(b); _ = a.matmul(b) }
            MACCounter.uncounted { _ = a.matmul(b) }
        }
        #expect(outer.total == 40)
        #expect(inner?.total == 80)
        #expect(!MACCounter.isCounting)
    }

    @Test func explicitStagesNest() {
        var g = RandomGenerator(seed: 11)
        let a = Tensor.uniform([4, 5], using: &g), b = Tensor.uniform([5, 2], using: &g)
        let report = MACCounter.count {
            _ = a.matmul(b)  // 40 outside stages
            MACCounter.stage("encoder") {
                _ = a.matmul(b)
                MACCounter.stage("attn") { _ = a.matmul(b); _ = a.matmul(b) }
            }
            MACCounter.stage("decoder") { _ = a.matmul(b) }
        }
        #expect(report.stageNames == ["", "encoder", "encoder.attn", "decoder"])
        #expect(report.macs(inStage: "encoder") == 120)
        #expect(report.macs(inStage: "encoder.attn") == 80)
        #expect(report.macs(inStage: "decoder") == 40)
        #expect(report.macs(inStage: "") == 40)
        #expect(report.total == 200)
        // `stage` outside a count just runs its body.
        #expect(MACCounter.stage("x") { 7 } == 7)
    }

    @Test func weightlessOpsAreChargedToTheLastWeightedModule() {
        var g = RandomGenerator(seed: 11)
        // Children "0" conv 3→4 3×3 on 6×6 (1·4·3·9·36 = 3888), "1" a weightless self-attention
        // matmul [1,36,4]·[1,4,36] (36·36·4 = 5184, charged to "0"), "2" a 1×1 conv 4→2 (2·4·36 = 288).
        let net = Sequential(
            Conv2d(3, 4, kernelSize: 3, padding: 1, using: &g),
            Lambda { x in
                let t = x.reshaped([1, 4, 36])
                let scores = t.transposed().matmul(t)            // [1,36,36]
                return t.matmul(scores.softmax(axis: -1)).reshaped([1, 4, 6, 6])
            },
            Conv2d(4, 2, kernelSize: 1, using: &g))
        let x = Tensor.uniform([1, 3, 6, 6], using: &g)
        let report = MACCounter.count { _ = withoutGradients { net(x) } }
        // The second matmul [1,4,36]·[1,36,36] = 4·36·36 = 5184 as well.
        #expect(report.total == 3888 + 5184 + 5184 + 288)
        let split = report.macsByChild(of: net)
        #expect(split.children.map(\.key) == ["0", "1", "2"])
        #expect(split.children.map(\.macs) == [3888 + 2 * 5184, 0, 288])
        #expect(split.other == 0)
        #expect(report.macsByChild(of: net, only: .matmul).children.map(\.macs) == [2 * 5184, 0, 0])
    }
}
