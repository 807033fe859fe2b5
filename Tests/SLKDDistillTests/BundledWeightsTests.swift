import Foundation
import Testing
import SLKDDistill

@Suite("Bundled weights")
struct BundledWeightsTests {
    /// The demo teacher is built from the file's own metadata and holds exactly the file's
    /// tensors: every parameter bit for bit, and as many numbers as the file stores.
    @Test func demoTeacherLoadsEveryTensorOfItsFile() throws {
        let entry = try BundledWeights.named("demo-teacher")
        #expect(try BundledWeights.all().map(\.name) == BundledWeights.names)
        let file = try SafeTensors.read(from: entry.url)
        let model = try entry.loadModel()
        #expect(model.parameterCount == file.tensors.values.reduce(0) { $0 + $1.count })
        let state = model.stateDictionary()
        #expect(Set(state.keys) == Set(file.names))
        for (key, tensor) in state { #expect(tensor.floats.map(\.bitPattern) == file[key]?.floats.map(\.bitPattern), "\(key)") }
        #expect(entry.summary.contains("held out: astronaut.png, coffee.png, gravel.png"))
    }

    @Test func unknownNameListsTheBundledOnes() {
        #expect(throws: BundledWeights.Error.self) { _ = try BundledWeights.named("restormer-deraining") }
        do { _ = try BundledWeights.named("nope") } catch { #expect(String(describing: error).contains("bundled: demo-teacher")) }
    }
}
