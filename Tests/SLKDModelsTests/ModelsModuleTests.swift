import Testing
import SLKDModels

@Test func modelsModuleLinksTheTensorCore() {
    #expect(Tensor.arange(4, dtype: .float64).sum().item == 6)
}
