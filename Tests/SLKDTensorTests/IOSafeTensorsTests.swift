import Foundation
import Testing
import SLKDTensor

@Suite("safetensors")
struct IOSafeTensorsTests {
    static let fixtures = IOFixtures.shared

    @Test("reads files written by Python's safetensors exactly", arguments: fixtures.safetensors.keys.sorted())
    func readsPythonFiles(file: String) throws {
        let expected = try #require(Self.fixtures.safetensors[file])
        let contents = try SafeTensors.read(from: IOFixtures.url(file))
        #expect(contents.names == expected.order)
        #expect(contents.metadata == expected.metadata)
        #expect(Set(contents.tensors.keys) == Set(expected.tensors.keys))
        for (name, record) in expected.tensors {
            let t = try #require(contents[name], "missing \(name)")
            #expect(t.shape == record.shape, "\(name)")
            #expect(contents.storedTypes[name]?.rawValue == record.dtype, "\(name)")
            switch record.dtype {
            case "I64":
                #expect(t.dtype == .int64)
                let values = t.withContiguousScalars(Int64.self) { Array($0) }
                #expect(values == record.ints, "\(name)")
            case "F64":
                #expect(t.dtype == .float64)
                let values = t.withContiguousScalars(Double.self) { Array($0) }
                let want = try #require(record.data).map(\.value)
                #expect(values.count == want.count && zip(values, want).allSatisfy { sameValue($0, $1) }, "\(name)")
            default:  // F32, F16, BF16 widen to float32 exactly
                #expect(t.dtype == .float32)
                let values = t.withContiguousScalars(Float.self) { Array($0) }
                let want = try #require(record.data).map { Float($0.value) }
                #expect(values.count == want.count
                        && zip(values, want).allSatisfy { ($0.isNaN && $1.isNaN) || $0.bitPattern == $1.bitPattern },
                        "\(name): \(values) != \(want)")
            }
        }
    }

    @Test("rejects each corrupt file with the right typed error", arguments: fixtures.corrupt_safetensors.keys.sorted())
    func rejectsCorruptFiles(file: String) throws {
        let expected = try #require(Self.fixtures.corrupt_safetensors[file])
        let url = IOFixtures.url(file)
        do {
            let contents = try SafeTensors.read(from: url)
            Issue.record("\(file) was accepted: \(contents.names)")
        } catch {
            #expect(reasonCode(error.reason) == expected.reason, "\(file): \(error)")
            #expect(error.key == expected.key, "\(file): \(error)")
            #expect(error.path == url.path)
            #expect(error.description.contains(url.lastPathComponent))
            if let key = expected.key { #expect(error.description.contains("'\(key)'"), "\(error)") }
        }
    }

    @Test("every truncation and many corruptions of a valid file give a typed error, never a crash")
    func hostileBytes() throws {
        let good = try Data(contentsOf: IOFixtures.url("mixed.safetensors"))
        for length in 0..<good.count {
            #expect(throws: SafeTensorsError.self, "length \(length)") { try SafeTensors.decode(good.prefix(length)) }
        }
        // Random byte overwrites inside the header and data: each input decodes to tensors that
        // match their header, or fails with a one-line SafeTensorsError.
        var rng = RandomGenerator(seed: 99)
        var (decoded, refused) = (0, 0)
        for trial in 0..<3000 {
            var bad = good
            for _ in 0..<Int.random(in: 1...4, using: &rng) {
                let i = Int.random(in: 0..<bad.count, using: &rng)
                bad[i] = UInt8.random(in: 0...255, using: &rng)
            }
            do {
                let contents = try SafeTensors.decode(bad)
                #expect(Set(contents.names) == Set(contents.tensors.keys), "trial \(trial)")
                for (name, tensor) in contents.tensors {
                    #expect(Shape.checkedCount(tensor.shape) == tensor.count, "trial \(trial): \(name)")
                    #expect(contents.storedTypes[name]?.loadedDType == tensor.dtype, "trial \(trial): \(name)")
                }
                decoded += 1
            } catch {
                // The typed throw fixes the type; the message must be one line naming the problem.
                #expect(error.path == nil && !error.description.contains("\n")
                        && error.description.hasPrefix("safetensors: "), "trial \(trial): \(error)")
                refused += 1
            }
        }
        #expect(decoded + refused == 3000)
        #expect(decoded > 0 && refused > 0, "the corruptions should reach both outcomes")
    }

    @Test("narrows to F16 and BF16 exactly as PyTorch rounds")
    func narrowingMatchesTorch() throws {
        let r = Self.fixtures.rounding
        let inputs = r.inputs.map { Float($0.value) }
        let x = Tensor(shape: [inputs.count], scalars: inputs)
        for (format, want) in [(SafeTensors.FloatFormat.f16, r.f16), (.bf16, r.bf16)] {
            let back = try SafeTensors.decode(SafeTensors.encode([("x", x)], floatFormat: format))
            let got = try #require(back["x"]).floats
            for (i, (g, w)) in zip(got, want.map { Float($0.value) }).enumerated() {
                #expect((g.isNaN && w.isNaN) || g.bitPattern == w.bitPattern,
                        "\(format): \(inputs[i]) → \(g), torch gives \(w)")
            }
        }
    }

    @Test("write then read round-trips values, dtypes, order and metadata")
    func roundTrip() throws {
        var rng = RandomGenerator(seed: 5)
        let a = Tensor.normal([3, 4], using: &rng)
        let b = Tensor.normal([2, 5], dtype: .float64, using: &rng).transposed()  // a non-contiguous view
        let idx = Tensor(shape: [2, 2], indices: [Int(Int64.min + 1), -1, 0, Int(Int64.max)])
        let scalar = Tensor(scalar: -2.25)
        let empty = Tensor.zeros([0, 3])
        let tensors = [("z.first", a), ("a.second", b), ("index", idx), ("scalar", scalar), ("empty", empty)]
        let metadata = ["format": "pt", "quote\"back\\slash": "line\nbreak\u{1}\u{e9}\u{1F600}"]
        let dir = makeScratchDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("model.safetensors")
        try SafeTensors.write(tensors, metadata: metadata, to: url)
        let back = try SafeTensors.read(from: url)
        #expect(back.names == tensors.map(\.0))
        #expect(back.metadata == metadata)
        for (name, t) in tensors {
            let r = try #require(back[name])
            #expect(r.dtype == t.dtype && r.shape == t.shape, "\(name)")
            if t.dtype == .int64 {
                #expect(r.integers == t.integers)
            } else {
                #expect(r.doubles == t.doubles, "\(name)")
            }
        }
        #expect(back.storedTypes["a.second"] == .f64 && back.storedTypes["z.first"] == .f32)
        // The data section starts 8-byte aligned, as the reference writer pads it.
        let raw = try Data(contentsOf: url)
        #expect(raw.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) } % 8 == 0)

        // Dictionary form: ordered by name; float64 stored as F32 on request.
        try SafeTensors.write(["b": b, "a": a], floatFormat: .f32, to: url)
        let sorted = try SafeTensors.read(from: url)
        #expect(sorted.names == ["a", "b"])
        #expect(sorted["b"]?.dtype == .float32 && sorted["b"]?.floats == b.floats)
        #expect(sorted.metadata.isEmpty)
    }

    @Test("the writer rejects names it cannot write")
    func invalidNames() {
        let t = Tensor.zeros([2])
        for names in [["a", "a"], ["__metadata__"], [""]] {
            #expect {
                _ = try SafeTensors.encode(names.map { ($0, t) })
            } throws: { error in
                guard let e = error as? SafeTensorsError, case .invalidTensorName = e.reason else { return false }
                return true
            }
        }
    }

    @Test("a missing file is an unreadable-file error naming it")
    func missingFile() {
        let url = URL(fileURLWithPath: "/nonexistent/slkd/model.safetensors")
        #expect {
            _ = try SafeTensors.read(from: url)
        } throws: { error in
            guard let e = error as? SafeTensorsError, case .unreadable = e.reason else { return false }
            return e.path == url.path
        }
    }

    @Test("the header parser keeps integers exact, handles escapes and rejects bad JSON")
    func headerJSON() throws {
        func file(_ header: String, data: Int = 0) -> Data {
            var bytes = Array(header.utf8)
            var d = Data()
            withUnsafeBytes(of: UInt64(bytes.count).littleEndian) { d.append(contentsOf: $0) }
            d.append(contentsOf: bytes)
            d.append(contentsOf: [UInt8](repeating: 0, count: data))
            bytes.removeAll()
            return d
        }
        let ok = try SafeTensors.decode(file(#" {"__metadata__": {"a\u00e9\ud83d\ude00": "x\n\"\/"}, "t": {"dtype": "I8", "shape": [], "data_offsets": [0, 1], "extra": [null, true, -1.5e2]}} "#, data: 1))
        #expect(ok.metadata == ["a\u{e9}\u{1F600}": "x\n\"/"])
        #expect(ok.names == ["t"] && ok["t"]?.shape == [])
        // 2^53 + 1 must not be rounded through Double: the error reports it exactly.
        #expect {
            _ = try SafeTensors.decode(file(#"{"t": {"dtype": "U8", "shape": [9007199254740993], "data_offsets": [0, 9007199254740993]}}"#))
        } throws: { error in
            (error as? SafeTensorsError)?.reason == .offsetsOutOfBounds(key: "t", begin: 0, end: 9007199254740993, dataSize: 0)
        }
        for bad in ["", "{", #"{"a":}"#, "[1,]", #"{"a": 01}"#, #"{"a": 1.}"#, #"{"a": "\x"}"#, #"{"a": "\ud800"}"#,
                    "{\"a\u{1}\": 1}", "{} x", #"{"a": tru}"#, #"{"a": -}"#, #"{"a" 1}"#] {
            #expect("\(bad)") {
                _ = try SafeTensors.decode(file(bad))
            } throws: { error in
                guard let e = error as? SafeTensorsError, case .invalidJSON = e.reason else { return false }
                return true
            }
        }
    }
}
