import Testing
import SLKDTensor

/// `t` times 1/n, 2/n, …, 1 in row-major order, so that every output element gets its own weight.
private func ramp(_ t: Tensor) -> Tensor {
    let n = t.count
    return t * (Tensor.arange(n, dtype: t.dtype) + 1).reshaped(t.shape) / Double(n)
}

/// The view chains of `views.json`, by variant name (the same chains as the generator's).
private func viewOp(_ c: ReferenceCase) -> ([Tensor]) -> Tensor {
    let chain: (Tensor) -> Tensor
    switch c.params["variant"]!.text {
    case "reshape": chain = { $0.reshaped([4, 6]) }
    case "reshape_infer": chain = { $0.reshaped([-1, 2]) }
    case "reshape_of_transposed": chain = { $0.transposed(0, 2).reshaped([4, -1]) }
    case "flatten": chain = { $0.permuted([1, 0, 2]).flattened() }
    case "permute3": chain = { $0.permuted([2, 0, 1]) }
    case "permute4": chain = { $0.permuted([0, 2, 3, 1]) }
    case "transpose_last": chain = { $0.transposed() }
    case "transpose_01": chain = { $0.transposed(0, 1) }
    case "expand_size1": chain = { $0.expanded(to: [3, 4, 5]) }
    case "expand_leading": chain = { $0.expanded(to: [2, 3, 4]) }
    case "expand_both": chain = { $0.expanded(to: [2, 4, 3]) }
    case "narrow": chain = { $0.narrowed(axis: 1, start: 1, length: 3) }
    case "narrow_last": chain = { $0.narrowed(axis: -1, start: 2, length: 2) }
    case "slice_step2": chain = { $0.sliced(axis: 1, 1..<7, step: 2) }
    case "slice_step3_lead": chain = { $0.sliced(axis: 0, 0..<5, step: 3) }
    case "slice_of_transposed": chain = { $0.transposed().sliced(axis: 0, 1..<6, step: 2) }
    case "unsqueeze_squeeze": chain = { $0.unsqueezed(axis: 1).unsqueezed(axis: -1).squeezed(axis: 3) }
    case "squeeze_all": chain = { $0.squeezed() }
    case "squeeze_one": chain = { $0.squeezed(axis: 2) }
    case "contiguous_of_permuted": chain = { $0.permuted([1, 2, 0]).contiguous() }
    case "contiguous_of_sliced": chain = { $0.sliced(axis: 1, 0..<6, step: 2).contiguous() }
    case "chain": chain = { $0.transposed().narrowed(axis: 0, start: 1, length: 2).unsqueezed(axis: 0).expanded(to: [2, 2, 4]).reshaped([4, 4]) }
    case "shared_input": chain = { $0.transposed() * $0 + $0 }
    case let other: fatalError("unknown variant \(other)")
    }
    return { ramp(chain($0[0])) }
}

@Suite("Views")
struct ViewTests {
    static let cases = (try? loadReferenceCases("views")) ?? []

    @Test("match PyTorch in float64", arguments: cases.map(\.name))
    func matchesPyTorch64(name: String) throws {
        let c = try #require(Self.cases.first { $0.name == name })
        checkAgainstReference(c, rtol: 1e-12, atol: 1e-12, viewOp(c))
    }

    @Test("match PyTorch in float32", arguments: cases.map(\.name))
    func matchesPyTorch32(name: String) throws {
        let c = try #require(Self.cases.first { $0.name == name })
        checkAgainstReference(c, dtype: .float32, rtol: 1e-5, atol: 1e-6, viewOp(c))
    }

    @Test("pass float64 gradient checks", arguments: cases.map(\.name))
    func gradientCheck(name: String) throws {
        let c = try #require(Self.cases.first { $0.name == name })
        let op = viewOp(c)
        let report = gradCheck([c.inputs["a"]!.tensor()]) { op($0) }
        #expect(report.passed, "\(report)")
    }

    @Test func referenceVectorsArePresent() { #expect(Self.cases.count == 23) }

    @Test("views share storage and copy nothing")
    func viewsAreViews() {
        let x = Tensor(shape: [2, 3, 4], scalars: (0..<24).map(Double.init))
        #expect(!x.transposed().isContiguous)
        #expect(x.transposed().strides == [12, 1, 4])
        #expect(x.expanded(to: [5, 2, 3, 4]).strides == [0, 12, 4, 1])
        #expect(x.sliced(axis: 2, 1..<4, step: 2).strides == [12, 4, 2])
        #expect(x.sliced(axis: 2, 1..<4, step: 2).offset == 1)
        #expect(x.narrowed(axis: 1, start: 2, length: 1).doubles == [8, 9, 10, 11, 20, 21, 22, 23])
        #expect(x.transposed().contiguous().isContiguous)
        // Adding or removing size-1 axes of a strided view keeps it a view.
        let u = x.transposed().unsqueezed(axis: 1)
        #expect(u.shape == [2, 1, 4, 3] && u.strides[0] == 12 && u.strides[2...] == [1, 4])
        #expect(u.doubles == x.transposed().doubles)
        #expect(u.squeezed().strides == [12, 1, 4])
        #expect(u.squeezed(axis: 1).doubles == x.transposed().doubles)
    }
}
