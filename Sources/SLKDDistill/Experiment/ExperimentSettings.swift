import SLKDModels

/// What a ``DistillationExperiment`` trains, on what data, for how long.
///
/// The defaults are the `slkd demo` run: a small Restormer teacher and a narrower, shallower
/// Restormer student (the Res-SL recipe at demo scale) on the bundled sample images with
/// synthetic rain and noise, three held-out images, every method on the same budget and seed.
///
/// The learning rate is the one deliberate departure from the paper: its 1e-4 → 1e-6 cosine
/// schedule is meant for 100 epochs of a large dataset; a run of minutes needs a larger start.
public struct ExperimentSettings: Codable, Sendable, Hashable {
    /// The teacher network (teacher A; teacher B shares its weights, the default of Docs/Method.md#networks).
    public var teacher: Restormer.Configuration
    /// The student network.
    public var student: Restormer.Configuration
    /// The sample images kept out of training and used for evaluation (file names).
    public var heldOutImages: [String]
    /// The centre crop (side, pixels) of each held-out image that is evaluated; `nil` for whole images.
    public var evaluationCrop: Int?
    /// Training patch side (pixels).
    public var patchSize: Int
    /// Patches per batch.
    public var batchSize: Int
    /// Random patches cut from each training image (with fresh degradations) to form the pool
    /// that is reshuffled every epoch.
    public var patchesPerImage: Int
    /// Supervised steps for the teacher when it is trained here (not loaded).
    public var teacherSteps: Int
    /// Steps for every student method (equal budgets).
    public var studentSteps: Int
    /// Cosine schedule start for the teacher.
    public var teacherLearningRate: Double
    /// Cosine schedule start for the students.
    public var learningRate: Double
    /// Cosine schedule end (students and teacher).
    public var minimumLearningRate: Double
    /// The methods compared, all trained from the same student initialisation on the same
    /// batches. Names must be unique.
    public var methods: [ComparedMethod]
    /// Seeds initialisation, data order, patches and degradations.
    public var seed: UInt64
    /// Standard deviation range of the Gaussian noise added after the rain (on [0, 1]).
    public var noiseSigma: ClosedRange<Double>
    /// Rain density range (fraction of pixels that seed a streak).
    public var rainDensity: ClosedRange<Double>
    /// Every this many student steps, each loss term's share of the student's gradient norm is
    /// measured (``Trainer/gradientShareInterval``); nil: not measured.
    public var gradientShareInterval: Int?

    public init(teacher: Restormer.Configuration = Self.demoTeacher, student: Restormer.Configuration = Self.demoStudent,
                heldOutImages: [String] = ["astronaut.png", "coffee.png", "gravel.png"], evaluationCrop: Int? = 192,
                patchSize: Int = 64, batchSize: Int = 4, patchesPerImage: Int = 48, teacherSteps: Int = 1200,
                studentSteps: Int = 300, teacherLearningRate: Double = 2e-3, learningRate: Double = 2e-3,
                minimumLearningRate: Double = 1e-5, methods: [ComparedMethod] = [.studentAlone, .outputKD, .slkd],
                seed: UInt64 = 0, noiseSigma: ClosedRange<Double> = 0.02...0.06,
                rainDensity: ClosedRange<Double> = 0.002...0.008) {
        self.teacher = teacher
        self.student = student
        self.heldOutImages = heldOutImages
        self.evaluationCrop = evaluationCrop
        self.patchSize = patchSize
        self.batchSize = batchSize
        self.patchesPerImage = patchesPerImage
        self.teacherSteps = teacherSteps
        self.studentSteps = studentSteps
        self.teacherLearningRate = teacherLearningRate
        self.learningRate = learningRate
        self.minimumLearningRate = minimumLearningRate
        self.methods = methods
        self.seed = seed
        self.noiseSigma = noiseSigma
        self.rainDensity = rainDensity
    }

    /// The demo teacher: Restormer's layout at width 16 with one block per level.
    public static var demoTeacher: Restormer.Configuration {
        Restormer.Configuration(dim: 16, numBlocks: [1, 2, 2, 2], numRefinementBlocks: 1, heads: [1, 2, 4, 8])
    }

    /// The demo student: half the teacher's width and a single block per level (the ratio Res-SL
    /// keeps to Restormer, Table I).
    public static var demoStudent: Restormer.Configuration {
        Restormer.Configuration(dim: 8, numBlocks: [1, 1, 1, 1], numRefinementBlocks: 1, heads: [1, 2, 4, 8])
    }

    /// The `--quick` run: the same set-up with a fraction of the steps.
    public static var quick: Self {
        var s = Self()
        s.teacherSteps = 300
        s.studentSteps = 60
        s.patchesPerImage = 16
        s.evaluationCrop = 128
        return s
    }
}

extension DistillationConfiguration.Method {
    /// The snake-case name of the method (`student_alone`, `output_kd`, …).
    public var reportName: String {
        switch self {
        case .slkd: "slkd"
        case .studentAlone: "student_alone"
        case .outputKD: "output_kd"
        case .fitNets: "fitnets"
        case .dfkd: "dfkd"
        case .dckd: "dckd"
        }
    }
}
