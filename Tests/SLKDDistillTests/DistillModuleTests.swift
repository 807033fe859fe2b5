import Testing
import SLKDDistill

@Test func distillModuleLinksTheTensorCore() {
    #expect(Tensor.ones([2, 2], dtype: .float64).sum().item == 4)
}
