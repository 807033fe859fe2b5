/// One arm of a ``DistillationExperiment``: a name for reports and the configuration it trains with.
///
/// The catalog covers the baselines of Docs/Method.md#ablations-and-baselines, SLKD with its defaults, and its switches
/// that an experiment may want beside them (Table IV's ablations and the pixel term's target),
/// each under a stable snake-case name that `slkd demo --methods` accepts and `metrics.json` uses.
/// Any other ``DistillationConfiguration`` can be given a name of its own.
public struct ComparedMethod: Codable, Sendable, Hashable {
    /// The snake-case name used in reports and `metrics.json` (`student_alone`, `slkd`, …).
    public var name: String
    /// A human-readable label.
    public var label: String
    /// What the student is trained with (``DistillationConfiguration/Method/studentAlone`` trains
    /// it supervised on the ground truth).
    public var configuration: DistillationConfiguration

    public init(name: String, label: String, configuration: DistillationConfiguration) {
        self.name = name
        self.label = label
        self.configuration = configuration
    }

    /// The student trained alone on the ground truth.
    public static var studentAlone: Self { Self(name: "student_alone", label: "Student alone", configuration: .method(.studentAlone)) }
    /// Output-only distillation: L1 to teacher A's output.
    public static var outputKD: Self { Self(name: "output_kd", label: "Output-only KD", configuration: .method(.outputKD)) }
    /// SLKD with the defaults of Docs/Method.md.
    public static var slkd: Self { Self(name: "slkd", label: "SLKD student", configuration: .slkd) }
    /// FitNets-style feature distillation.
    public static var fitNets: Self { Self(name: "fitnets", label: "FitNets", configuration: .method(.fitNets)) }
    /// DFKD adapted to restoration (Docs/Method.md#dfkd).
    public static var dfkd: Self { Self(name: "dfkd", label: "DFKD", configuration: .method(.dfkd)) }
    /// DCKD adapted to restoration (Docs/Method.md#dckd).
    public static var dckd: Self { Self(name: "dckd", label: "DCKD", configuration: .method(.dckd)) }

    /// SLKD whose pixel term targets the ground truth instead of teacher B's output.
    public static var slkdGroundTruthPixel: Self {
        var c = DistillationConfiguration.slkd
        c.pixelTarget = .groundTruth
        return Self(name: "slkd_gt_pixel", label: "SLKD, L1 to GT", configuration: c)
    }

    /// SLKD with teacher B on the degraded input, L_nc and L_et kept. This matches no row of the
    /// paper's Table IV: row 1 has teacher B on the degraded input but neither feature loss
    /// (``table4Row1``).
    public static var slkdTeacherBDegraded: Self {
        var c = DistillationConfiguration.slkd
        c.teacherBInput = .degraded
        return Self(name: "slkd_b_degraded", label: "SLKD, B on degraded", configuration: c)
    }

    /// SLKD without L_nc (the configuration of Table IV row 4, ``table4Row4``).
    public static var slkdWithoutNC: Self {
        var c = DistillationConfiguration.slkd
        c.useDegradationRemoval = false
        return Self(name: "slkd_no_nc", label: "SLKD without L_nc", configuration: c)
    }

    /// SLKD without L_et (the configuration of Table IV row 3, ``table4Row3``).
    public static var slkdWithoutET: Self {
        var c = DistillationConfiguration.slkd
        c.useImageReconstruction = false
        return Self(name: "slkd_no_et", label: "SLKD without L_et", configuration: c)
    }

    /// SLKD with the image-level terms only (L1 and KL; the configuration of Table IV row 2,
    /// ``table4Row2``).
    public static var slkdImageTermsOnly: Self {
        var c = DistillationConfiguration.slkd
        c.useDegradationRemoval = false
        c.useImageReconstruction = false
        return Self(name: "slkd_image_only", label: "SLKD, L1 + KL only", configuration: c)
    }

    // MARK: Table IV

    /// The paper's Table IV, row by row (Docs/Method.md#ablations-and-baselines): L1 to teacher B's
    /// output and KL to teacher A's in every row; rows 1–2 vary teacher B's input with neither
    /// feature loss; rows 3 and 4 add L_nc and L_et alone, teacher B on clean; row 5 is Res-SL.
    public static func table4(row: Int) -> Self? {
        guard (1...5).contains(row) else { return nil }
        var c = DistillationConfiguration.slkd
        c.teacherBInput = row == 1 ? .degraded : .clean
        c.useDegradationRemoval = row == 3 || row == 5
        c.useImageReconstruction = row == 4 || row == 5
        let labels = ["Table IV 1: B on degraded, no L_nc, no L_et", "Table IV 2: B on clean, no L_nc, no L_et",
                      "Table IV 3: B on clean, L_nc", "Table IV 4: B on clean, L_et", "Table IV 5: Res-SL (L_nc + L_et)"]
        return Self(name: "table4_row\(row)", label: labels[row - 1], configuration: c)
    }

    /// Table IV row 1: teacher B on the degraded ("rainy") input, no L_nc, no L_et.
    public static var table4Row1: Self { table4(row: 1)! }
    /// Table IV row 2: teacher B on the clean input, no L_nc, no L_et.
    public static var table4Row2: Self { table4(row: 2)! }
    /// Table IV row 3: teacher B on clean, L_nc (Degradation Removal Learning) added.
    public static var table4Row3: Self { table4(row: 3)! }
    /// Table IV row 4: teacher B on clean, L_et (Image Reconstruction Learning) added.
    public static var table4Row4: Self { table4(row: 4)! }
    /// Table IV row 5: the full Res-SL, the configuration of ``slkd``.
    public static var table4Row5: Self { table4(row: 5)! }

    /// Every named method, in the order `slkd demo --help` lists them.
    public static var catalog: [Self] {
        [.studentAlone, .outputKD, .slkd, .fitNets, .dfkd, .dckd, .slkdGroundTruthPixel, .slkdTeacherBDegraded,
         .slkdWithoutNC, .slkdWithoutET, .slkdImageTermsOnly]
            + (1...5).map { table4(row: $0)! }
    }

    /// The catalog entry called `name`, if any.
    public static func named(_ name: String) -> Self? { catalog.first { $0.name == name } }

    // MARK: Codable

    private enum CodingKeys: String, CodingKey { case name, label, configuration }

    /// Also reads the plain method names (`"slkd"`, `"studentAlone"`, …) that settings written
    /// before named methods existed hold — the bundled demo teacher's metadata among them.
    public init(from decoder: any Decoder) throws {
        if let single = try? decoder.singleValueContainer(), let raw = try? single.decode(String.self) {
            guard let method = DistillationConfiguration.Method(rawValue: raw) else {
                throw DecodingError.dataCorruptedError(in: single, debugDescription: "unknown method '\(raw)'")
            }
            self = switch method {
            case .slkd: .slkd
            case .studentAlone: .studentAlone
            case .outputKD: .outputKD
            case .fitNets: .fitNets
            case .dfkd: .dfkd
            case .dckd: .dckd
            }
            return
        }
        let container = try decoder.container(keyedBy: CodingKeys.self)
        name = try container.decode(String.self, forKey: .name)
        label = try container.decode(String.self, forKey: .label)
        configuration = try container.decode(DistillationConfiguration.self, forKey: .configuration)
    }
}
