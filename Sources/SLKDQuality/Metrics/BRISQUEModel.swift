import Foundation

extension BRISQUE {
    /// An ε-SVR with an RBF kernel in libsvm's text format, with its svm-scale ranges.
    public struct Model: Sendable {
        /// Per-feature (min, max) of `allrange`, mapped to [lower, upper].
        public let ranges: [(min: Double, max: Double)]
        public let lower: Double
        public let upper: Double
        public let gamma: Double
        public let rho: Double
        public let coefficients: [Double]
        /// Support vectors, `coefficients.count` rows of `ranges.count` values.
        public let supportVectors: [Double]

        /// Reads a libsvm model file and an svm-scale range file.
        public init(modelText: String, rangeText: String) throws {
            // Range file: "x", "lower upper", then "index min max" lines.
            let rangeLines = rangeText.split(whereSeparator: \.isNewline).map {
                $0.split(whereSeparator: \.isWhitespace)
            }.filter { !$0.isEmpty }
            guard rangeLines.count >= 3, rangeLines[0] == ["x"], rangeLines[1].count == 2,
                  let lower = Double(rangeLines[1][0]), let upper = Double(rangeLines[1][1])
            else { throw QualityError.invalidModel("range file: expected 'x' and 'lower upper' lines") }
            var ranges = [(min: Double, max: Double)]()
            for (n, line) in rangeLines.dropFirst(2).enumerated() {
                guard line.count == 3, Int(line[0]) == n + 1, let lo = Double(line[1]), let hi = Double(line[2])
                else { throw QualityError.invalidModel("range file: bad line \(n + 3): \(line.joined(separator: " "))") }
                ranges.append((lo, hi))
            }
            let d = ranges.count
            // Model file: header "key value" lines up to "SV", then "coef i:v ..." lines.
            var header = [String: String]()
            var coefficients = [Double](), vectors = [Double]()
            var inVectors = false
            for (n, raw) in modelText.split(whereSeparator: \.isNewline).enumerated() {
                let fields = raw.split(whereSeparator: \.isWhitespace)
                if fields.isEmpty { continue }
                if !inVectors {
                    if fields == ["SV"] { inVectors = true; continue }
                    header[String(fields[0])] = fields.dropFirst().joined(separator: " ")
                    continue
                }
                guard let coef = Double(fields[0]) else { throw QualityError.invalidModel("model line \(n + 1): bad coefficient") }
                var row = [Double](repeating: 0, count: d) // libsvm omits zero entries
                for field in fields.dropFirst() {
                    let pair = field.split(separator: ":")
                    guard pair.count == 2, let i = Int(pair[0]), let v = Double(pair[1]), i >= 1, i <= d
                    else { throw QualityError.invalidModel("model line \(n + 1): bad entry '\(field)'") }
                    row[i - 1] = v
                }
                coefficients.append(coef)
                vectors += row
            }
            guard header["svm_type"] == "epsilon_svr", header["kernel_type"] == "rbf",
                  let gamma = header["gamma"].flatMap(Double.init), let rho = header["rho"].flatMap(Double.init)
            else { throw QualityError.invalidModel("model header: expected an epsilon_svr with an rbf kernel, gamma and rho") }
            if let total = header["total_sv"].flatMap(Int.init), total != coefficients.count {
                throw QualityError.invalidModel("model: total_sv \(total) but \(coefficients.count) support vectors")
            }
            guard !coefficients.isEmpty else { throw QualityError.invalidModel("model: no support vectors") }
            self.ranges = ranges
            self.lower = lower
            self.upper = upper
            self.gamma = gamma
            self.rho = rho
            self.coefficients = coefficients
            self.supportVectors = vectors
        }

        /// svm-scale: lower + (upper − lower)(x − min)/(max − min), exact at the ends, no clipping.
        public func scale(_ features: [Double]) -> [Double] {
            precondition(features.count == ranges.count, "the model takes \(ranges.count) features, got \(features.count)")
            return zip(features, ranges).map { x, r in
                if r.max == r.min { return x } // svm-scale leaves constant features alone
                if x == r.min { return lower }
                if x == r.max { return upper }
                return lower + (upper - lower) * (x - r.min) / (r.max - r.min)
            }
        }

        /// Σ coefᵢ·exp(−γ‖x' − svᵢ‖²) − ρ on the scaled features.
        public func predict(scaled x: [Double]) -> Double {
            let d = ranges.count
            var total = 0.0
            supportVectors.withUnsafeBufferPointer { sv in
                for i in 0..<coefficients.count {
                    var dist = 0.0
                    for k in 0..<d {
                        let t = x[k] - sv[i * d + k]
                        dist += t * t
                    }
                    total += coefficients[i] * exp(-gamma * dist)
                }
            }
            return total - rho
        }

        /// The score of raw features.
        public func score(_ features: [Double]) -> Double { predict(scaled: scale(features)) }

        private static let cached: Result<Model, QualityError> = {
            guard let modelURL = Bundle.module.url(forResource: "allmodel", withExtension: nil, subdirectory: "Resources"),
                  let rangeURL = Bundle.module.url(forResource: "allrange", withExtension: nil, subdirectory: "Resources"),
                  let modelText = try? String(contentsOf: modelURL, encoding: .utf8),
                  let rangeText = try? String(contentsOf: rangeURL, encoding: .utf8)
            else { return .failure(.invalidModel("the LIVE BRISQUE model (Resources/allmodel, allrange) is missing")) }
            do { return .success(try Model(modelText: modelText, rangeText: rangeText)) } catch let e as QualityError {
                return .failure(e)
            } catch { return .failure(.invalidModel("\(error)")) }
        }()

        /// The LIVE model (`allmodel`, `allrange`, © 2011 The University of Texas at Austin; see
        /// Resources/NOTICE.txt), read once from the bundle.
        public static func live() throws -> Model { try cached.get() }
    }
}
