import Testing
import SLKDQuality

@Test func qualityModuleLinksTheTensorCore() {
    let t = Tensor(shape: [2], scalars: [1.0, 2.0])
    #expect(t.sum().item == 3)
}
