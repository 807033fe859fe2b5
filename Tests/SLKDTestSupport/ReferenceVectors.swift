import Foundation
import Testing
@_exported import SLKDTensor

/// A tensor as the PyTorch generator scripts write it: shape plus row-major float64 values.
public struct TensorRecord: Decodable, Sendable {
    public var shape: [Int]
    public var data: [Double]

    /// The record as a tensor of the given dtype.
    public func tensor(_ dtype: DType = .float64) -> Tensor {
        Tensor(shape: shape, scalars: data).cast(to: dtype)
    }
}

/// A loosely typed parameter of a reference case (numbers, integer lists, strings, flags).
public enum ParameterValue: Decodable, Sendable {
    case number(Double)
    case list([Double])
    case text(String)
    case flag(Bool)

    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let b = try? c.decode(Bool.self) { self = .flag(b) }
        else if let d = try? c.decode(Double.self) { self = .number(d) }
        else if let l = try? c.decode([Double].self) { self = .list(l) }
        else { self = .text(try c.decode(String.self)) }
    }

    public var number: Double { if case .number(let v) = self { return v }; fatalError("not a number: \(self)") }
    public var int: Int { Int(number) }
    public var ints: [Int] { if case .list(let v) = self { return v.map { Int($0) } }; fatalError("not a list: \(self)") }
    public var text: String { if case .text(let v) = self { return v }; fatalError("not text: \(self)") }
    public var flag: Bool { if case .flag(let v) = self { return v }; fatalError("not a flag: \(self)") }
}

/// One PyTorch reference case: inputs, parameters, the output, the upstream gradient used to
/// contract it, and the resulting gradient of each input (`d sum(output · upstream) / d input`).
public struct ReferenceCase: Decodable, Sendable {
    public var name: String
    public var op: String
    public var inputs: [String: TensorRecord]
    public var inputOrder: [String]
    public var params: [String: ParameterValue]
    public var output: TensorRecord
    public var upstream: TensorRecord?
    public var grads: [String: TensorRecord]

    enum CodingKeys: String, CodingKey {
        case name, op, inputs, params, output, upstream, grads
        case inputOrder = "input_order"
    }

    /// The inputs in the order the op takes them.
    public func orderedInputs(_ dtype: DType = .float64) -> [Tensor] { inputOrder.map { inputs[$0]!.tensor(dtype) } }
}

/// Loads `Vectors/<file>.json`, written by a script in `Scripts/torchref/`.
public func loadReferenceCases(_ file: String, bundle: Bundle) throws -> [ReferenceCase] {
    guard let url = bundle.url(forResource: file, withExtension: "json", subdirectory: "Vectors") else {
        throw ReferenceError.missing(file)
    }
    struct File: Decodable { var cases: [ReferenceCase] }
    return try JSONDecoder().decode(File.self, from: Data(contentsOf: url)).cases
}

public enum ReferenceError: Error { case missing(String) }

/// Asserts two tensors have the same shape and agree within `rtol`·|expected| + `atol`.
public func expectClose(_ actual: Tensor, _ expected: Tensor, rtol: Double = 1e-6, atol: Double = 1e-9,
                 _ what: @autoclosure () -> String = "", sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(actual.shape == expected.shape, "\(what()): shape \(actual.shape) != \(expected.shape)", sourceLocation: sourceLocation)
    guard actual.shape == expected.shape else { return }
    let a = actual.doubles, e = expected.doubles
    var worst = 0, worstExcess = -Double.infinity
    for i in 0..<a.count {
        let excess = Swift.abs(a[i] - e[i]) - (atol + rtol * Swift.abs(e[i]))
        if excess > worstExcess || a[i].isNaN != e[i].isNaN { worstExcess = a[i].isNaN != e[i].isNaN ? .infinity : excess; worst = i }
    }
    if a.isEmpty { return }
    #expect(worstExcess <= 0, "\(what()): element \(worst) is \(a[worst]), expected \(e[worst])", sourceLocation: sourceLocation)
}

/// Runs `op` on a case's inputs (in `dtype`) and checks output and input gradients against it.
public func checkAgainstReference(_ c: ReferenceCase, dtype: DType = .float64, rtol: Double = 1e-6, atol: Double = 1e-9,
                           sourceLocation: SourceLocation = #_sourceLocation, _ op: ([Tensor]) -> Tensor) {
    let inputs = c.orderedInputs(dtype).map { $0.requiringGrad() }
    let y = op(inputs)
    expectClose(y, c.output.tensor(dtype), rtol: rtol, atol: atol, "\(c.name) output", sourceLocation: sourceLocation)
    guard let upstream = c.upstream, !c.grads.isEmpty else { return }
    let grads = (y * upstream.tensor(dtype)).sum().gradients(wrt: inputs)
    for (k, name) in c.inputOrder.enumerated() {
        guard let expected = c.grads[name] else { continue }
        expectClose(grads[k], expected.tensor(dtype), rtol: rtol * 10, atol: atol * 10, "\(c.name) d\(name)", sourceLocation: sourceLocation)
    }
}

/// A Float64 gradient check of `op` on a case's inputs, varying only those the case has reference
/// gradients for (index tensors and other fixed inputs keep their values).
public func gradCheckDifferentiableInputs(_ c: ReferenceCase, _ op: ([Tensor]) -> Tensor) -> GradCheckReport {
    let differentiable = c.inputOrder.filter { c.grads[$0] != nil }
    let inputs = c.orderedInputs()
    return gradCheck(differentiable.map { c.inputs[$0]!.tensor() }) { vars in
        var all = inputs
        for (k, n) in differentiable.enumerated() { all[c.inputOrder.firstIndex(of: n)!] = vars[k] }
        return op(all)
    }
}
