import Foundation
import Testing
import SLKDTensor

@Suite("The GELU kernels' erf")
struct ActivationErfTests {
    @Test("Float approximation stays within 4e-7 of libm's double-precision erf everywhere")
    func floatErfAccuracy() {
        var worst = 0.0
        var x = -6.0
        while x <= 6 {
            let approx = Double(SpecialFunctions.erfForActivation(Float(x)))
            // Compare with erf at the float-rounded argument, so only the function's error counts.
            worst = max(worst, abs(approx - Foundation.erf(Double(Float(x)))))
            x += 0.000_37
        }
        #expect(worst < 4e-7, "worst absolute error \(worst)")
    }

    @Test func doubleUsesTheExactErf() {
        for x in [-3.3, -0.7, 0.0, 1e-9, 0.4, 2.5] {
            #expect(SpecialFunctions.erfForActivation(x) == Foundation.erf(x))
        }
    }
}
