import CSLKDKernels

// The direct convolution in Float for stride 1 and any kernel size, dilation and padding: DRSformer's
// 5×5 depthwise and 2-channel-per-group convolutions (MSFN) and MEFC's 3×3/5×5/7×7 separable and
// dilated depthwise convolutions. The generic direct kernel reads and writes each output row once
// per (input channel, tap); this one's row kernel (`slkd_conv_rows_f32` in CSLKDKernels, compiled
// for AVX-512, AVX2 and the baseline) keeps 32, 64 or 128 outputs in vector registers across all
// taps (on AVX-512 four rows of 32 or eight of 16 at once) and writes them once. Each output sums
// bias, then rows kh, input channels ci, taps kw in the same order as the generic kernel (taps
// that fall in the horizontal padding add an exact 0), so the two agree to rounding of the same
// terms.

extension ConvKernels {
    /// Whether ``directForwardFloat(_:_:_:_:_:)`` handles `geo`.
    static func directFloatApplies(_ geo: Conv2dGeometry) -> Bool {
        geo.strideH == 1 && geo.strideW == 1 && geo.usesDirectKernel
    }

    /// Direct stride-1 convolution, one output plane per task. The task copies the plane's input
    /// channels into rows padded with zeros left and right, so every output column runs the same
    /// SIMD loop (no scalar borders: at DRSformer's 16- and 32-wide levels most columns are border);
    /// kernel rows that fall in the vertical padding are skipped.
    static func directForwardFloat(_ x: UnsafePointer<Float>, _ k: UnsafePointer<Float>, _ b: UnsafePointer<Float>?,
                                   _ y: UnsafeMutablePointer<Float>, _ geo: Conv2dGeometry, relu: Bool = false,
                                   inputLayout: ConvPlaneLayout? = nil, outputLayout: ConvPlaneLayout? = nil) {
        let inputs = inputLayout ?? .contiguous(channels: geo.inChannels)
        let outputs = outputLayout ?? .contiguous(channels: geo.outChannels)
        let h = geo.height, w = geo.width, hw = h * w, oh = geo.outHeight, ow = geo.outWidth
        let cinG = geo.inPerGroup, coutG = geo.outPerGroup, kH = geo.kernelH, kW = geo.kernelW
        let dh = geo.dilationH, dw = geo.dilationW, ph = geo.padH, pw = geo.padW
        // Output columns rounded up to whole vectors; a padded row holds every column they read.
        let ow8 = (ow + 7) & ~7, rowWidth = ow8 + (kW - 1) * dw
        precondition(rowWidth >= w + pw, "directForwardFloat: padded row too short")
        Parallel.forChunks(geo.batch * geo.outChannels, grain: 1) { planes in
            TensorMemoryCache.withScratch(Float.self, count: cinG * h * rowWidth + ow8) { padded in
                padded.initialize(repeating: 0, count: cinG * h * rowWidth + ow8)
                let outRow = padded + cinG * h * rowWidth
                let rows = SLKDConvRows(rows: padded, row_width: rowWidth, height: h, channels: cinG,
                                        kernel_h: kH, kernel_w: kW, dilation_h: dh, dilation_w: dw)
                var loadedSource: UnsafePointer<Float>? = nil
                for p in planes {
                    let n = p / geo.outChannels, co = p % geo.outChannels, g = co / coutG
                    let xg = x + inputs.plane(image: n, channel: g * cinG) * hw
                    if loadedSource != xg {
                        // The zero borders stay zero: only the interior of each row is rewritten.
                        for r in 0..<(cinG * h) { (padded + r * rowWidth + pw).update(from: xg + r * w, count: w) }
                        loadedSource = xg
                    }
                    let kc = k + co * cinG * kH * kW
                    let yp = y + outputs.plane(image: n, channel: co) * oh * ow
                    let bias = b?[co] ?? 0
                    // Kernel rows that land inside the input for output row ho: hi = ho − ph + kh·dh ∈ [0, h).
                    func kernelRows(_ ho: Int) -> (Int, Int) {
                        var khLo = 0, khHi = kH
                        while khLo < kH && ho - ph + khLo * dh < 0 { khLo += 1 }
                        while khHi > khLo && ho - ph + (khHi - 1) * dh >= h { khHi -= 1 }
                        return (khLo, khHi)
                    }
                    var ho = 0
                    while ho < oh {
                        let (khLo, khHi) = kernelRows(ho)
                        // Straight into the output when its rows are whole vectors, with every following
                        // row that has the same kernel rows in one call (the interior rows of the plane);
                        // otherwise one row at a time through `outRow`.
                        let direct = ow == ow8
                        var count = 1
                        while direct && ho + count < oh && kernelRows(ho + count) == (khLo, khHi) { count += 1 }
                        let target = direct ? yp + ho * ow : outRow
                        withUnsafePointer(to: rows) { rows in
                            slkd_conv_rows_f32(rows, kc, bias, ho - ph, khLo, khHi, count, target, ow8, ow8)
                        }
                        if !direct { (yp + ho * ow).update(from: outRow, count: ow) }
                        ho += count
                    }
                    if relu { reluInPlace(yp, count: oh * ow) }
                }
            }
        }
    }

    /// The input gradient of a stride-1 direct convolution, as a direct convolution of the output
    /// gradient: gx = conv(g, W′) with W′[grp·cinG + ci, j] = W[grp·coutG + j, ci] rotated by 180°,
    /// coutG input and cinG output channels per group, padding d·(k−1) − p. Returns false when the
    /// padding exceeds d·(k−1) (then the output does not cover the input).
    static func directInputGradientFloat(_ g: UnsafePointer<Float>, _ k: UnsafePointer<Float>,
                                         _ gx: UnsafeMutablePointer<Float>, _ geo: Conv2dGeometry) -> Bool {
        let padH = geo.dilationH * (geo.kernelH - 1) - geo.padH, padW = geo.dilationW * (geo.kernelW - 1) - geo.padW
        guard directFloatApplies(geo), padH >= 0, padW >= 0 else { return false }
        let cinG = geo.inPerGroup, coutG = geo.outPerGroup, taps = geo.taps
        let transposed = Conv2dGeometry(batch: geo.batch, inChannels: geo.outChannels, height: geo.outHeight, width: geo.outWidth,
                                        outChannels: geo.inChannels, kernelH: geo.kernelH, kernelW: geo.kernelW,
                                        strideH: 1, strideW: 1, padH: padH, padW: padW,
                                        dilationH: geo.dilationH, dilationW: geo.dilationW, groups: geo.groups,
                                        outHeight: geo.height, outWidth: geo.width)
        guard transposed.usesDirectKernel else { return false }
        let flipped = UnsafeMutablePointer<Float>.allocate(capacity: geo.outChannels * cinG * taps)
        defer { flipped.deallocate() }
        for grp in 0..<geo.groups {
            for ci in 0..<cinG {
                for j in 0..<coutG {
                    let src = k + ((grp * coutG + j) * cinG + ci) * taps
                    let dst = flipped + ((grp * cinG + ci) * coutG + j) * taps
                    for t in 0..<taps { dst[t] = src[taps - 1 - t] }
                }
            }
        }
        directForwardFloat(g, flipped, nil, gx, transposed)
        return true
    }
}

extension ConvKernels {
    /// The weight gradient of a stride-1 direct convolution in Float, one output channel per task:
    /// for each (input channel, kernel row, tap) one SIMD dot product over all output rows, without
    /// a horizontal sum per row. (3-wide "same" kernels keep the three-taps-per-pass `dot3` path.)
    static func directWeightGradientFloat(_ x: UnsafePointer<Float>, _ g: UnsafePointer<Float>,
                                          _ gw: UnsafeMutablePointer<Float>, _ geo: Conv2dGeometry) {
        precondition(geo.strideH == 1 && geo.strideW == 1, "directWeightGradientFloat needs stride 1")
        let h = geo.height, w = geo.width, oh = geo.outHeight, ow = geo.outWidth
        let kH = geo.kernelH, kW = geo.kernelW
        let dh = geo.dilationH, dw = geo.dilationW, ph = geo.padH, pw = geo.padW
        let ranges = (0..<kW).map { VisionMath.validRange(inCount: w, outCount: ow, stride: 1, offset: $0 * dw - pw) }
        typealias V = SIMD8<Float>
        forEachWeightGradientPlane(x, g, gw, geo) { gp, xp, kc in
            for kh in 0..<kH {
                // Output rows whose input row ho − ph + kh·dh lies in [0, h).
                let hoLo = Swift.max(0, ph - kh * dh), hoHi = Swift.min(oh, h + ph - kh * dh)
                if hoLo >= hoHi { continue }
                for kw in 0..<kW {
                    let valid = ranges[kw]
                    if valid.isEmpty { continue }
                    let off = kw * dw - pw
                    var a0 = V(), a1 = V(), s: Float = 0
                    for ho in hoLo..<hoHi {
                        let grow = UnsafeRawPointer(gp + ho * ow)
                        let xrow = UnsafeRawPointer(xp + (ho - ph + kh * dh) * w + off)
                        var j = valid.lowerBound
                        while j + 16 <= valid.upperBound {
                            a0 += grow.loadUnaligned(fromByteOffset: j * 4, as: V.self)
                                * xrow.loadUnaligned(fromByteOffset: j * 4, as: V.self)
                            a1 += grow.loadUnaligned(fromByteOffset: j * 4 + 32, as: V.self)
                                * xrow.loadUnaligned(fromByteOffset: j * 4 + 32, as: V.self)
                            j += 16
                        }
                        while j + 8 <= valid.upperBound {
                            a0 += grow.loadUnaligned(fromByteOffset: j * 4, as: V.self)
                                * xrow.loadUnaligned(fromByteOffset: j * 4, as: V.self)
                            j += 8
                        }
                        while j < valid.upperBound {
                            s += grow.load(fromByteOffset: j * 4, as: Float.self) * xrow.load(fromByteOffset: j * 4, as: Float.self)
                            j += 1
                        }
                    }
                    kc[kh * kW + kw] += (a0 + a1).sum() + s
                }
            }
        }
    }
}
