import Foundation
import Testing
import SLKDDistill

/// The training checkpoint reader on files that a trainer did not write as they are: each problem
/// is a ``TrainingError/checkpoint(path:reason:)`` naming the file and the field.
@Suite("Training checkpoint files", .serialized)
struct TrainingCheckpointFileTests {
    /// A real checkpoint's tensors and metadata, to be altered.
    static func saved() throws -> (tensors: [(String, Tensor)], json: String) {
        let url = TrainerTests.temporaryURL("file-tests")
        defer { try? FileManager.default.removeItem(at: url) }
        try TrainerTests.distillationTrainer(studentSeed: 1, steps: 2).saveCheckpoint(to: url)
        let contents = try SafeTensors.read(from: url)
        return (contents.ordered, try #require(contents.metadata["slkd.training"]))
    }

    /// The reason `TrainingCheckpointFile` gives for the altered file, or nil when it reads it.
    static func reason(tensors: [(String, Tensor)], json: String) throws -> String? {
        let contents = try SafeTensors.decode(SafeTensors.encode(tensors, metadata: ["slkd.training": json]))
        do {
            _ = try TrainingCheckpointFile.parse(contents, path: "run/latest.safetensors")
            return nil
        } catch {
            guard case let .checkpoint(path, reason) = error else { return "\(error)" }
            #expect(path == "run/latest.safetensors")
            return reason
        }
    }

    @Test func anUnalteredCheckpointParses() throws {
        let (tensors, json) = try Self.saved()
        #expect(try Self.reason(tensors: tensors, json: json) == nil)
    }

    @Test func negativeAndDisorderedCountersAreRefused() throws {
        let (tensors, json) = try Self.saved()
        #expect(json.contains("\"step\":0"))
        #expect(try Self.reason(tensors: tensors, json: json.replacingOccurrences(of: "\"step\":0", with: "\"step\":-1"))
                == "step -1 is negative")
        #expect(try Self.reason(tensors: tensors, json: json.replacingOccurrences(
            of: "\"consecutiveNonFiniteSteps\":0", with: "\"consecutiveNonFiniteSteps\":9223372036854775807"))
                == "consecutiveNonFiniteSteps 9223372036854775807 is outside 0...0 (the step)")
    }

    @Test func metadataThatIsNotATrainingStateNamesTheField() throws {
        let (tensors, json) = try Self.saved()
        #expect(try Self.reason(tensors: tensors, json: "[1, 2") == "'slkd.training' metadata is not a training state: corrupt data")
        #expect(try Self.reason(tensors: tensors, json: json.replacingOccurrences(of: "\"step\":0", with: "\"step\":\"x\""))
                == "'slkd.training' metadata is not a training state: field 'step': wrong type")
    }

    @Test func aFloatOptimizerStepIsRefusedNotTrappedOn() throws {
        let (tensors, json) = try Self.saved()
        for bad: Float in [.nan, 1e30, -1] {
            let altered = tensors.map { $0.0 == "optimizer.step" ? ($0.0, Tensor(shape: [], scalars: [bad])) : $0 }
            #expect(try Self.reason(tensors: altered, json: json)
                    == "optimizer state 'step' must be a non-negative int64 scalar (found a float32 value)")
        }
    }

    @Test func aZeroBeforeOverflowingSizesIsRefusedByTheFileReader() throws {
        let url = TrainerTests.temporaryURL("overflow")
        defer { try? FileManager.default.removeItem(at: url) }
        let header = Array(#"{"model.w":{"dtype":"F32","shape":[0,1099511627776,1099511627776],"data_offsets":[0,0]}}"#.utf8)
        try Data((0..<8).map { UInt8(truncatingIfNeeded: header.count >> (8 * $0)) } + header).write(to: url)
        do {
            _ = try TrainingCheckpointFile.read(from: url)
            Issue.record("accepted")
        } catch {
            guard case let .checkpoint(path, reason) = error else { Issue.record("\(error)"); return }
            #expect(path == url.path)
            #expect(reason.hasSuffix("tensor 'model.w': shape [0, 1099511627776, 1099511627776] overflows"))
        }
    }
}
