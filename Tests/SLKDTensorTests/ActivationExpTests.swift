import Foundation
import Testing
import SLKDTensor

@Suite("The GELU derivative's exp")
struct ActivationExpTests {
    @Test("Float approximation stays within 3 ulp of libm's double-precision exp on [−87, 0]")
    func floatExpAccuracy() {
        var worst = 0.0
        var y = -87.0
        while y <= 0 {
            let yf = Float(y)
            let approx = Double(SpecialFunctions.expOfNonPositiveForActivation(yf))
            // Compare with exp at the float-rounded argument, in ulps of the float result.
            let exact = Foundation.exp(Double(yf))
            worst = max(worst, abs(approx - exact) / Double(Float(exact).ulp))
            y += 0.000_731
        }
        #expect(worst < 3, "worst error \(worst) ulp")
        #expect(SpecialFunctions.expOfNonPositiveForActivation(Float(0)) == 1)
        #expect(SpecialFunctions.expOfNonPositiveForActivation(-Float.infinity) < 1e-37)
    }

    @Test func doubleUsesTheExactExp() {
        for y in [-700.0, -3.3, -0.7, 0.0, -1e-9] {
            #expect(SpecialFunctions.expOfNonPositiveForActivation(y) == Foundation.exp(y))
        }
    }
}
