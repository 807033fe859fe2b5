import Foundation
import Testing
import SLKDTensor

/// Files a stranger could publish: each must end in a specific ``SafeTensorsError``, not a trap or
/// an allocation out of proportion to its size.
@Suite("safetensors: hostile files")
struct HostileSafeTensorsTests {
    /// A safetensors file with the given header text (padded with spaces like the reference writer) and data.
    static func file(header: String, data: [UInt8] = []) -> Data {
        var json = Array(header.utf8)
        json += repeatElement(UInt8(ascii: " "), count: (8 - json.count % 8) % 8)
        var bytes = (0..<8).map { UInt8(truncatingIfNeeded: json.count >> (8 * $0)) }
        bytes += json + data
        return Data(bytes)
    }

    @Test("checked counts multiply every nonzero size, wherever the 0 is")
    func checkedCounts() {
        #expect(Shape.checkedCount([0, 1 << 40, 1 << 40]) == nil)
        #expect(Shape.checkedCount([1 << 40, 1 << 40, 0]) == nil)
        #expect(Shape.checkedCount([1 << 40, 0, 1 << 40]) == nil)
        #expect(Shape.checkedCount([0, 1 << 31, 1 << 31]) == 0)
        #expect(Shape.checkedCount([2, 3, 7]) == 42)
        #expect(Shape.checkedCount([]) == 1)
        #expect(Shape.checkedCount([3, -1]) == nil)
    }

    @Test("a 0 before sizes whose product overflows is refused, not trapped on")
    func zeroHidesNoOverflow() throws {
        let data = Self.file(header: #"{"a":{"dtype":"F32","shape":[0,1099511627776,1099511627776],"data_offsets":[0,0]}}"#)
        #expect(data.count == 96)  // the issue's 93 bytes plus padding to 8
        #expect(throws: SafeTensorsError(.invalidEntry(key: "a", problem: "shape [0, 1099511627776, 1099511627776] overflows"))) {
            try SafeTensors.decode(data)
        }
        // A legitimate empty tensor still loads.
        let empty = try SafeTensors.decode(Self.file(header: #"{"e":{"dtype":"F32","shape":[0,3],"data_offsets":[0,0]}}"#))
        #expect(empty["e"]?.shape == [0, 3])
    }

    @Test("widening past the caller's maximum bytes is a budget error naming the tensor")
    func explicitMaximum() throws {
        // 1000 U8 values load as 8000 bytes of int64.
        let data = Self.file(header: #"{"bytes":{"dtype":"U8","shape":[1000],"data_offsets":[0,1000]}}"#,
                             data: [UInt8](repeating: 7, count: 1000))
        #expect(try SafeTensors.decode(data, maximumBytes: 8000)["bytes"]?.count == 1000)
        let expected = ReadBudgetExceeded(resource: .bytes, what: "tensor 'bytes'", requested: 8000, limit: 7999)
        #expect(throws: SafeTensorsError(.budgetExceeded(expected))) { try SafeTensors.decode(data, maximumBytes: 7999) }
    }

    @Test("the default budget is 16 bytes per file byte, at least 256 MiB; pickle counts scale with the input")
    func defaultLimits() {
        let small = ReadBudget(inputByteCount: 93)
        #expect(small.byteLimit == 256 << 20)
        #expect(small.objectLimit == 2 * 93 + 4096 && small.stackLimit == 2 * 93 + 4096 && small.memoLimit == 2 * 93 + 4096)
        let large = ReadBudget(inputByteCount: 100_000_000)
        #expect(large.byteLimit == 1_600_000_000)
        #expect(large.objectLimit == 1 << 20 && large.stackLimit == 1 << 20 && large.memoLimit == 1 << 20)
        #expect(ReadBudget(inputByteCount: Int.max).byteLimit == Int.max)
        #expect(ReadBudget(inputByteCount: 10, maximumBytes: 5).byteLimit == 5)
    }

    @Test("charges add up and stop at the limit without overflowing")
    func charging() throws {
        var budget = ReadBudget(inputByteCount: 0, maximumBytes: 100)
        try budget.charge(elements: 10, ofSize: 8, for: "x")
        #expect(budget.bytesUsed == 80)
        #expect(throws: ReadBudgetExceeded(resource: .bytes, what: "y", requested: 104, limit: 100)) {
            try budget.charge(elements: 6, ofSize: 4, for: "y")
        }
        #expect(throws: ReadBudgetExceeded(resource: .bytes, what: "z", requested: Int.max, limit: 100)) {
            try budget.charge(elements: Int.max / 2, ofSize: 4, for: "z")
        }
        #expect(budget.bytesUsed == 80)
    }
}
