import ArgumentParser
import Foundation
import Logging
import SLKDDistill
import SLKDModels
import SLKDTensor

/// `slkd demo`: the whole SLKD job on the bundled sample images, ending in a report.
struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run SLKD end to end on the bundled sample images and write a report.",
        discussion: """
            Makes degraded/clean pairs from the bundled sample images (synthetic rain streaks and
            Gaussian noise), obtains a small Restormer teacher (the one the project trained and
            ships, or one trained here with --train-teacher), then trains a smaller Restormer
            student three ways on the same budget, seed and batches: alone on the ground truth,
            by output-only distillation, and by SLKD. All are scored on held-out images.

            The output folder receives report.md and report.html (PSNR/SSIM table, parameter and
            MAC reductions, labelled image strips, charts), metrics.json (per method: psnr, ssim,
            parameters, macs), strips/*.png, the charts as SVG files (held-out-psnr.svg,
            training-psnr.svg, loss-<method>.svg; report.html also inlines them) and the trained
            weights as safetensors.
            Every file is written atomically.

            Examples:
              slkd demo
              slkd demo --quick --output /tmp/slkd-demo
              slkd demo --train-teacher --seed 3
              slkd demo --methods student_alone,slkd,slkd_gt_pixel,slkd_b_degraded
              slkd demo --validation-images chelsea.png,brick.png --methods slkd --feature-weight 0.01
              slkd demo --methods fitnets --learning-rate 1e-3 --set distill.fitnets_weight=0.05
              slkd demo --methods slkd --feature-scaling teacher_spread
            """)

    @Option(name: .shortAndLong, help: "Folder for the report (created if missing).")
    var output: String = "slkd-demo"

    @Flag(help: "A short run (about a fifth of the steps; under 2 minutes on 2 cores).")
    var quick = false

    @Flag(help: "Train the teacher here (supervised) instead of loading the bundled one.")
    var trainTeacher = false

    @Option(help: "Teacher weights (safetensors) to load instead of the bundled teacher.")
    var teacherWeights: String?

    @Option(help: "Seed for initialisation, data order, patches and degradations.")
    var seed: UInt64 = 0

    @Option(help: "Training steps per student method (default: 300, or 60 with --quick).")
    var steps: Int?

    @Option(help: "Training steps for the teacher with --train-teacher (default: 1200, or 300 with --quick).")
    var teacherSteps: Int?

    @Option(help: "Random patches cut from each training image per pool (default: 48, or 16 with --quick).")
    var patchesPerImage: Int?

    @Option(help: ArgumentHelp("Comma-separated methods to compare (default: student_alone,output_kd,slkd).",
                               discussion: "Known: \(ComparedMethod.catalog.map(\.name).joined(separator: ", ")).",
                               valueName: "names"))
    var methods: String?

    @Option(help: ArgumentHelp("Score on these training images instead of the held-out ones, which then take no part at all (comma-separated).",
                               discussion: "For choosing settings such as --feature-weight without looking at the test images.",
                               valueName: "names"))
    var validationImages: String?

    @Option(help: ArgumentHelp("λ2, the weight of L_nc and L_et in every SLKD method (default 0.1, Docs/Method.md#total-loss-and-training).",
                               discussion: "Those methods are reported as NAME_fwλ2, e.g. slkd_fw0.01."))
    var featureWeight: Double?

    @Option(help: ArgumentHelp("How L_nc and L_et weigh their feature dimensions in every SLKD method: none (the SPEC form) or teacher_spread (Docs/Method.md#feature-scaling).",
                               discussion: "Those methods are reported as NAME_fs_VALUE, e.g. slkd_fs_teacher_spread.",
                               valueName: "scaling"))
    var featureScaling: String?

    @Option(help: ArgumentHelp("The students' starting learning rate (cosine schedule; default 2e-3).",
                               discussion: "Every student method is then reported as NAME_lrRATE, e.g. output_kd_lr0.001.",
                               valueName: "rate"))
    var learningRate: Double?

    @Option(name: .customLong("set"),
            help: ArgumentHelp("Set a `distill` options key in every student method, checked as in an options file (repeatable).",
                               discussion: "E.g. --set distill.kl_weight=0.2 --set distill.dckd_student_to_teacher_weight=0.5. "
                                   + "Each method is reported as NAME_KEYVALUE, e.g. fitnets_fitnets_weight0.05.",
                               valueName: "distill.key=value"))
    var distillSettings: [String] = []

    @Option(help: ArgumentHelp("Every N student steps, measure each loss term's share of the student's gradient norm (metrics.json: gradient_shares, the mean per term).",
                               valueName: "n"))
    var gradientShares: Int?

    @OptionGroup var threads: ThreadOptions

    /// The names `--validation-images` gives, checked against the held-out (test) images.
    func validationImageNames(testImages: [String]) throws -> [String]? {
        guard let validationImages else { return nil }
        let names = validationImages.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        guard !names.isEmpty, !names.contains("") else {
            throw ValidationError("--validation-images needs a comma-separated list of image names")
        }
        if let test = names.first(where: testImages.contains) {
            throw ValidationError("--validation-images: \(test) is a held-out test image; validation images come from the training images")
        }
        return names
    }

    /// The methods `--methods` names, in its order.
    func comparedMethods() throws -> [ComparedMethod]? {
        guard let methods else { return nil }
        let names = methods.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        guard !names.isEmpty, !names.contains("") else { throw ValidationError("--methods needs a comma-separated list of names") }
        guard Set(names).count == names.count else { throw ValidationError("--methods names a method twice: \(methods)") }
        return try names.map { name in
            guard let method = ComparedMethod.named(name) else {
                throw ValidationError("--methods: unknown method '\(name)'; known: "
                                      + ComparedMethod.catalog.map(\.name).joined(separator: ", "))
            }
            return method
        }
    }

    func validate() throws {
        _ = try tunedMethods(try comparedMethods() ?? ExperimentSettings().methods)
        _ = try validationImageNames(testImages: ExperimentSettings().heldOutImages)
        if let featureWeight, !(featureWeight.isFinite && featureWeight >= 0) {
            throw ValidationError("--feature-weight must be a finite number ≥ 0, got \(featureWeight)")
        }
        if let learningRate, !(learningRate.isFinite && learningRate > 0 && learningRate <= 1) {
            throw ValidationError("--learning-rate must be a number in (0, 1], got \(learningRate)")
        }
        if let patchesPerImage, patchesPerImage < 1 {
            throw ValidationError("--patches-per-image must be at least 1, got \(patchesPerImage)")
        }
        if let steps, steps < 1 { throw ValidationError("--steps must be at least 1, got \(steps)") }
        if let gradientShares, gradientShares < 1 { throw ValidationError("--gradient-shares must be at least 1, got \(gradientShares)") }
        if let teacherSteps, teacherSteps < 1 { throw ValidationError("--teacher-steps must be at least 1, got \(teacherSteps)") }
        if trainTeacher && teacherWeights != nil {
            throw ValidationError("--train-teacher and --teacher-weights exclude each other")
        }
    }

    func run() throws {
        var settings: ExperimentSettings = quick ? .quick : .init()
        settings.seed = seed
        if let steps { settings.studentSteps = steps }
        if let teacherSteps { settings.teacherSteps = teacherSteps }
        if let patchesPerImage { settings.patchesPerImage = patchesPerImage }
        settings.gradientShareInterval = gradientShares
        if let methods = try comparedMethods() { settings.methods = methods }
        settings.methods = try tunedMethods(settings.methods)
        if let learningRate { settings.learningRate = learningRate }
        // A validation run scores on some training images and leaves the test images out
        // entirely; the bundled teacher (trained without the test images) still serves it.
        let testSettings = settings
        var images = SampleImages.urls
        var excludedImages: [String] = []
        if let validation = try validationImageNames(testImages: settings.heldOutImages) {
            excludedImages = settings.heldOutImages
            images.removeAll { excludedImages.contains($0.lastPathComponent) }
            settings.heldOutImages = validation
        }
        let folder = URL(fileURLWithPath: output, isDirectory: true)
        try ToolError.wrap(output) {
            try FileManager.default.createDirectory(at: folder.appendingPathComponent("weights"), withIntermediateDirectories: true)
        }

        let weights: URL?
        if let teacherWeights {
            weights = URL(fileURLWithPath: teacherWeights)
            guard FileManager.default.fileExists(atPath: teacherWeights) else {
                throw ToolError("\(teacherWeights): no such file")
            }
        } else if !trainTeacher, let bundled = DemoTeacher.weights(for: testSettings) {
            weights = bundled
        } else {
            weights = nil
        }

        let logger = Logger(label: "slkd.demo") { _ in SwiftLogNoOpLogHandler() }
        let experiment = try ToolError.wrap("demo") { try DistillationExperiment(settings: settings, images: images, logger: logger) }
        let totalSteps = (weights == nil ? settings.teacherSteps : 0) + settings.methods.count * settings.studentSteps
        let bar = ProgressBar(total: totalSteps)
        say("SLKD demo: teacher \(weights == nil ? "trained here" : "loaded from \(weights!.lastPathComponent)"), "
              + "\(settings.methods.count) student methods × \(settings.studentSteps) steps, "
              + "batch \(settings.batchSize) × \(settings.patchSize)², seed \(settings.seed)")
        let started = Date()
        let outcome = try ToolError.wrap("demo") {
            try experiment.run(teacherWeights: weights,
                               saveTrainedTeacher: folder.appendingPathComponent("weights/teacher.safetensors")) { event in
                switch event {
                case .trainingStarted(let phase, let steps):
                    bar.relabel("\(phase) 0/\(steps)")
                case .trainingStep(let phase, let step, let steps, let loss):
                    bar.advance(label: "\(phase) \(step)/\(steps) loss \(String(format: "%.4f", loss))")
                    // Without a terminal there is no bar: a plain line at every tenth of a phase.
                    if !bar.isEnabled && (step * 10 / steps != (step - 1) * 10 / steps) {
                        say("\(phase): step \(step)/\(steps), loss \(String(format: "%.4f", loss)), "
                              + "\(ProgressBar.clock(Date().timeIntervalSince(started))) elapsed")
                    }
                case .teacherLoaded:
                    break
                case .evaluating(let phase):
                    bar.relabel("evaluating \(phase)")
                }
            }
        }
        bar.finish()
        let seconds = Date().timeIntervalSince(started)
        let report = try ToolError.wrap("demo") {
            try DemoReport(outcome: outcome, seconds: seconds, teacherSource: weights?.lastPathComponent,
                           excludedImages: excludedImages)
        }
        try ToolError.wrap(output) { try report.write(to: folder) }
        say(report.summaryTable)
        say("report: \(folder.appendingPathComponent("report.html").path) (\(ProgressBar.clock(seconds)) in all)")
    }
}

/// Writes a line to standard output unbuffered, so that a log file follows a long run as it goes.
func say(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}
