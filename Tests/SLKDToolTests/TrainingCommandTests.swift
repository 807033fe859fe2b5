import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import SLKDTensor
import Testing

/// `slkd demo`, `slkd train` and `slkd distill`, driven through the built executable on tiny runs.
@Suite("slkd demo, train and distill", .serialized)
struct TrainingCommandTests {
    /// A paired folder (`input`/`target`) of small crops of a bundled sample image, noisy/clean.
    static func makePairedFolder(in root: URL, count: Int = 3, side: Int = 40) throws {
        let sample = ToolRunner.packageRoot.appendingPathComponent("Sources/SLKDDistill/Resources/SampleImages/camera.png")
        let image = try Tensor.readPNG(at: sample, channels: .rgb)
        var generator = RandomGenerator(seed: 7)
        for folder in ["input", "target"] {
            try FileManager.default.createDirectory(at: root.appendingPathComponent(folder), withIntermediateDirectories: true)
        }
        for i in 0..<count {
            let clean = image.narrowed(axis: 1, start: 100 + 30 * i, length: side).narrowed(axis: 2, start: 120, length: side).contiguous()
            let noisy = (clean + Tensor.normal(clean.shape, std: 0.05, using: &generator)).clamp(min: 0, max: 1)
            try clean.writePNG(to: root.appendingPathComponent("target/\(i).png"))
            try noisy.writePNG(to: root.appendingPathComponent("input/\(i).png"))
        }
    }

    /// Trains the tiny run of ``options(data:experiments:extra:)`` for its 3 steps on two pairs in
    /// `root`, expecting success: its options file and experiments folder.
    static func trainTinyRun(in root: URL) throws -> (options: URL, run: URL) {
        let data = root.appendingPathComponent("data")
        try makePairedFolder(in: data, count: 2)
        let run = root.appendingPathComponent("run")
        let options = root.appendingPathComponent("train.yml")
        try Self.options(data: data, experiments: run).write(to: options, atomically: true, encoding: .utf8)
        let trained = try ToolRunner.run(["train", "--options", options.path])
        #expect(trained.status == 0, "\(trained.standardError)")
        return (options, run)
    }

    static let tinyRestormer = """
        type: Restormer
          inp_channels: 3
          out_channels: 3
          dim: 8
          num_blocks: [1, 1, 1, 1]
          num_refinement_blocks: 1
          heads: [1, 1, 2, 2]
          ffn_expansion_factor: 2
          bias: false
          LayerNorm_type: WithBias
        """

    static func options(data: URL, experiments: URL, extra: String = "") -> String {
        """
        name: tiny
        manual_seed: 3
        network_g:
          \(tinyRestormer)
        datasets:
          train:
            name: tiny-train
            dataroot_lq: \(data.appendingPathComponent("input").path)
            dataroot_gt: \(data.appendingPathComponent("target").path)
            gt_size: 32
            batch_size_per_gpu: 2
            geometric_augs: true
          val:
            name: tiny-val
            dataroot_lq: \(data.appendingPathComponent("input").path)
            dataroot_gt: \(data.appendingPathComponent("target").path)
        train:
          total_iter: 3
          optim_g: {type: AdamW, lr: !!float 1e-3, weight_decay: !!float 1e-4, betas: [0.9, 0.999]}
          scheduler: {type: CosineAnnealingRestartCyclicLR, periods: [3], restart_weights: [1], eta_mins: [0.000001]}
          pixel_opt: {type: L1Loss, loss_weight: 1, reduction: mean}
        val:
          val_freq: !!float 3
        logger:
          print_freq: 1
          save_checkpoint_freq: 2
        path:
          experiments_root: \(experiments.path)
        \(extra)
        """
    }

    @Test func demoWritesItsReport() throws {
        let out = try ToolRunner.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: out) }
        let result = try ToolRunner.run(["demo", "--quick", "--train-teacher", "--teacher-steps", "2", "--steps", "1",
                                         "--patches-per-image", "1", "--output", out.path])
        #expect(result.status == 0, "\(result.standardError)")
        let data = try Data(contentsOf: out.appendingPathComponent("metrics.json"))
        let metrics = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        for method in ["teacher", "student_alone", "output_kd", "slkd"] {
            let entry = try #require(metrics[method] as? [String: Any], "metrics.json lacks \(method)")
            let psnr = try #require(entry["psnr"] as? Double), ssim = try #require(entry["ssim"] as? Double)
            #expect(psnr.isFinite && psnr > 5 && psnr < 60)
            #expect(ssim > 0 && ssim <= 1)
            #expect((entry["parameters"] as? Int ?? 0) > 0 && (entry["macs"] as? Int ?? 0) > 0)
        }
        // The students are one network trained three ways: same size, smaller than the teacher.
        let teacherParameters = (metrics["teacher"] as? [String: Any])?["parameters"] as? Int ?? 0
        let studentParameters = (metrics["slkd"] as? [String: Any])?["parameters"] as? Int ?? 0
        #expect(studentParameters == (metrics["student_alone"] as? [String: Any])?["parameters"] as? Int)
        #expect(studentParameters * 4 < teacherParameters)
        for file in ["report.md", "report.html", "strips/astronaut.png", "weights/slkd.safetensors",
                     "weights/teacher.safetensors"] {
            #expect(FileManager.default.fileExists(atPath: out.appendingPathComponent(file).path), "missing \(file)")
        }
        #expect(!FileManager.default.fileExists(atPath: out.appendingPathComponent("curves.png").path))
        // Strip: six 128-pixel panels (degraded, teacher, three students, clean) 6 pixels apart, no text.
        let strip = try Tensor.readPNG(at: out.appendingPathComponent("strips/astronaut.png"))
        #expect(strip.shape == [3, 128 + 2 * 6, 6 * 128 + 7 * 6])
        let report = try String(contentsOf: out.appendingPathComponent("report.md"), encoding: .utf8)
        #expect(report.contains("SLKD student") && report.contains("strips/astronaut.png"))
        #expect(report.contains("![Training PSNR of each student method](training-psnr.svg)"))

        // The charts: SVG files beside report.html, each inlined in it, with their labels as text.
        let svgs = ["held-out-psnr.svg", "training-psnr.svg", "loss-teacher.svg", "loss-student_alone.svg",
                    "loss-output_kd.svg", "loss-slkd.svg"]
        let html = try String(contentsOf: out.appendingPathComponent("report.html"), encoding: .utf8)
        for name in svgs {
            let file = try String(contentsOf: out.appendingPathComponent(name), encoding: .utf8)
            #expect(XMLParser(data: Data(file.utf8)).parse(), "\(name) is not well-formed XML")
            let element = try #require(file.range(of: "<svg ").map { String(file[$0.lowerBound...]) })
            #expect(html.contains(element.trimmingCharacters(in: .newlines)), "report.html does not inline \(name)")
            #expect(html.contains("href=\"\(name)\""))
        }
        #expect(html.components(separatedBy: "<svg ").count - 1 == svgs.count)
        #expect(html.contains(">PSNR (dB)</text>") && html.contains(">Step</text>"))
        // Strip labels are HTML, one per panel, over the PNG.
        #expect(html.contains("<span>Degraded<br><span class=\"psnr\">"))
        #expect(html.contains("<span>SLKD student<br>") && html.contains("<span>Clean</span>"))
        #expect(html.contains("grid-template-columns:repeat(6,1fr)"))
    }

    @Test func demoRejectsBadArgumentsInOneLine() throws {
        let zero = try ToolRunner.run(["demo", "--steps", "0"])
        #expect(zero.status != 0)
        #expect(zero.standardError.contains("--steps"))
        let missing = try ToolRunner.run(["demo", "--teacher-weights", "/nonexistent/teacher.safetensors", "--output",
                                          FileManager.default.temporaryDirectory.appendingPathComponent("unused-demo").path])
        #expect(missing.status != 0)
        #expect(missing.standardError.contains("/nonexistent/teacher.safetensors"))
        #expect(!missing.standardError.contains("Fatal error"))
        let unknown = try ToolRunner.run(["demo", "--methods", "slkd,slkd_typo"])
        #expect(unknown.status != 0)
        #expect(unknown.standardError.contains("slkd_typo") && unknown.standardError.contains("slkd_b_degraded"))
        let twice = try ToolRunner.run(["demo", "--methods", "slkd,slkd"])
        #expect(twice.status != 0)
        #expect(twice.standardError.contains("twice"))
        let testImage = try ToolRunner.run(["demo", "--validation-images", "chelsea.png,coffee.png"])
        #expect(testImage.status != 0)
        #expect(testImage.standardError.contains("coffee.png") && testImage.standardError.contains("test image"))
        let unknownKey = try ToolRunner.run(["demo", "--set", "distill.lamda=1"])
        #expect(unknownKey.status != 0)
        #expect(unknownKey.standardError.contains("'distill.lamda' is not a distillation option"))
        let notDistill = try ToolRunner.run(["demo", "--set", "train.lr=1"])
        #expect(notDistill.status != 0 && notDistill.standardError.contains("distill.KEY=VALUE"))
        let scaling = try ToolRunner.run(["demo", "--feature-scaling", "zscore"])
        #expect(scaling.status != 0 && scaling.standardError.contains("teacher_spread"))
        let rate = try ToolRunner.run(["demo", "--learning-rate", "2"])
        #expect(rate.status != 0 && rate.standardError.contains("--learning-rate must be"))
        let negative = try ToolRunner.run(["demo", "--feature-weight=-0.5"])
        #expect(negative.status != 0)
        #expect(negative.standardError.contains("--feature-weight must be a finite number"))
    }

    @Test func demoValidationRunLeavesTheTestImagesOut() throws {
        let out = try ToolRunner.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: out) }
        let result = try ToolRunner.run(["demo", "--quick", "--train-teacher", "--teacher-steps", "1", "--steps", "1",
                                         "--patches-per-image", "1", "--methods", "output_kd,slkd", "--feature-weight", "0.01",
                                         "--validation-images", "chelsea.png,brick.png", "--output", out.path])
        #expect(result.status == 0, "\(result.standardError)")
        let data = try Data(contentsOf: out.appendingPathComponent("metrics.json"))
        let metrics = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let run = try #require(metrics["run"] as? [String: Any])
        #expect(run["held_out_images"] as? [String] == ["chelsea.png", "brick.png"])
        #expect(Set(run["excluded_images"] as? [String] ?? []) == ["astronaut.png", "coffee.png", "gravel.png"])
        let slkd = try #require(metrics["slkd_fw0.01"] as? [String: Any], "the SLKD arm is named after its weight")
        let scored = (slkd["images"] as? [[String: Any]])?.compactMap { $0["image"] as? String }
        #expect(Set(scored ?? []) == ["chelsea.png", "brick.png"])
        // The weight reaches the SLKD arm only, and its label says so.
        #expect(slkd["label"] as? String == "SLKD student, λ₂ 0.01")
        #expect((metrics["output_kd"] as? [String: Any])?["label"] as? String == "Output-only KD")
    }

    @Test func demoTuningFlagsReachTheArmsAndRenameThem() throws {
        let out = try ToolRunner.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: out) }
        let result = try ToolRunner.run(["demo", "--quick", "--train-teacher", "--teacher-steps", "1", "--steps", "1",
                                         "--patches-per-image", "1", "--methods", "output_kd,slkd", "--learning-rate", "1e-3",
                                         "--set", "distill.kl_weight=0.25", "--feature-scaling", "teacher_spread",
                                         "--output", out.path])
        #expect(result.status == 0, "\(result.standardError)")
        let data = try Data(contentsOf: out.appendingPathComponent("metrics.json"))
        let metrics = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        // --feature-scaling reaches the SLKD arm only; --set and --learning-rate every arm.
        #expect(metrics["output_kd_kl_weight0.25_lr0.001"] != nil)
        #expect(metrics["slkd_fs_teacher_spread_kl_weight0.25_lr0.001"] != nil)
        #expect(metrics["slkd"] == nil && metrics["output_kd"] == nil)
        #expect((metrics["run"] as? [String: Any])?["learning_rate"] as? Double == 0.001)
    }

    @Test func demoComparesTheMethodsItIsGiven() throws {
        let out = try ToolRunner.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: out) }
        let result = try ToolRunner.run(["demo", "--quick", "--train-teacher", "--teacher-steps", "1", "--steps", "1",
                                         "--patches-per-image", "1", "--methods", "slkd_gt_pixel,slkd_b_degraded",
                                         "--output", out.path])
        #expect(result.status == 0, "\(result.standardError)")
        let data = try Data(contentsOf: out.appendingPathComponent("metrics.json"))
        let metrics = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(metrics["slkd_gt_pixel"] != nil && metrics["slkd_b_degraded"] != nil)
        #expect(metrics["slkd"] == nil && metrics["student_alone"] == nil)
    }

    @Test func trainThenDistillFromOptionsFiles() throws {
        let root = try ToolRunner.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: root) }
        let data = root.appendingPathComponent("data")
        try Self.makePairedFolder(in: data)
        let teacherRun = root.appendingPathComponent("teacher")
        let teacherOptions = root.appendingPathComponent("teacher.yml")
        try Self.options(data: data, experiments: teacherRun).write(to: teacherOptions, atomically: true, encoding: .utf8)
        let train = try ToolRunner.run(["train", "--options", teacherOptions.path])
        #expect(train.status == 0, "\(train.standardError)")
        #expect(train.standardOutput.contains("step 3"))
        #expect(train.standardOutput.contains("eval.psnr"))
        let weights = teacherRun.appendingPathComponent("models/net_g_latest.safetensors")
        let saved = try SafeTensors.read(from: weights)
        #expect(saved.tensors["patch_embed.proj.weight"]?.shape == [8, 3, 3, 3])
        #expect(FileManager.default.fileExists(atPath: teacherRun.appendingPathComponent("training_states/latest.safetensors").path))

        let studentRun = root.appendingPathComponent("student")
        let distillOptions = root.appendingPathComponent("distill.yml")
        let extra = """
            network_teacher:
              \(Self.tinyRestormer)
            distill:
              method: slkd
              kl_weight: 0.5
            """
        var text = Self.options(data: data, experiments: studentRun, extra: extra)
        text = text.replacingOccurrences(of: "experiments_root: \(studentRun.path)",
                                         with: "experiments_root: \(studentRun.path)\n  pretrain_network_teacher: \(weights.path)")
        try text.write(to: distillOptions, atomically: true, encoding: .utf8)
        let distill = try ToolRunner.run(["distill", "--options", distillOptions.path])
        #expect(distill.status == 0, "\(distill.standardError)")
        #expect(distill.standardOutput.contains("nc ") && distill.standardOutput.contains("et "), "the SLKD terms are reported: \(distill.standardOutput)")
        #expect(FileManager.default.fileExists(atPath: studentRun.appendingPathComponent("models/net_g_latest.safetensors").path))

        try Self.expectMidRunResumeMatchesAnUninterruptedRun(distillText: text, root: root)
    }

    /// Stops a 6-step distillation after 3 steps, resumes it from its checkpoint, and compares
    /// the final weights bit for bit with an uninterrupted 6-step run of the binary. The stopped
    /// run ends through `total_iter: 3` on the 6-step schedule (`periods: [6]`, as BasicSR keeps
    /// the schedule apart from `total_iter`), so its first 3 steps are those of the full run.
    static func expectMidRunResumeMatchesAnUninterruptedRun(distillText: String, root: URL) throws {
        func run(_ name: String, totalSteps: Int, resume: URL? = nil) throws -> (run: URL, output: String) {
            let folder = root.appendingPathComponent(name)
            var text = distillText.replacingOccurrences(of: "periods: [3]", with: "periods: [6]")
                .replacingOccurrences(of: "total_iter: 3", with: "total_iter: \(totalSteps)")
            text = text.replacingOccurrences(of: root.appendingPathComponent("student").path, with: folder.path)
            let options = root.appendingPathComponent("\(name).yml")
            try text.write(to: options, atomically: true, encoding: .utf8)
            let result = try ToolRunner.run(["distill", "--options", options.path] + (resume.map { ["--resume", $0.path] } ?? []))
            #expect(result.status == 0, "\(name): \(result.standardError)")
            return (folder, result.standardOutput)
        }
        func weights(_ run: URL) throws -> [String: [UInt32]] {
            let contents = try SafeTensors.read(from: run.appendingPathComponent("models/net_g_latest.safetensors"))
            return contents.tensors.mapValues { $0.floats.map(\.bitPattern) }
        }
        let uninterrupted = try run("uninterrupted", totalSteps: 6)
        let stopped = try run("stopped", totalSteps: 3)
        let stoppedWeights = try weights(stopped.run)
        #expect(stoppedWeights != (try weights(uninterrupted.run)), "3 and 6 steps must differ, or the comparison shows nothing")
        // The resumed run writes into the stopped run's folder, as `--resume` does for a user.
        let checkpoint = stopped.run.appendingPathComponent("training_states/latest.safetensors")
        let resumed = try run("stopped", totalSteps: 6, resume: checkpoint)
        #expect(resumed.output.contains("at step 3"), "\(resumed.output)")
        #expect(resumed.output.contains("step 6"), "\(resumed.output)")
        let resumedWeights = try weights(resumed.run)
        #expect(resumedWeights.count == stoppedWeights.count && resumedWeights.count > 0)
        #expect(resumedWeights == (try weights(uninterrupted.run)), "resumed run differs from the uninterrupted run")
    }

    /// What BasicSR users look for after `slkd train`: the log file, per-step metrics, weight
    /// snapshots bounded by keep_checkpoints, TensorBoard events, and a warning for wandb.
    @Test func trainWritesTheLogMetricsSnapshotsAndTensorBoardEvents() throws {
        let root = try ToolRunner.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: root) }
        let data = root.appendingPathComponent("data")
        try Self.makePairedFolder(in: data)
        let run = root.appendingPathComponent("run")
        let text = Self.options(data: data, experiments: run)
            .replacingOccurrences(of: "total_iter: 3", with: "total_iter: 4")
            .replacingOccurrences(of: "periods: [3]", with: "periods: [4]")
            .replacingOccurrences(of: "  save_checkpoint_freq: 2", with: """
                  save_checkpoint_freq: 2
                  keep_checkpoints: 1
                  use_tb_logger: true
                  wandb: {project: slkd-demo, resume_id: ~}
                """)
        let options = root.appendingPathComponent("tiny.yml")
        try text.write(to: options, atomically: true, encoding: .utf8)
        let result = try ToolRunner.run(["train", "--options", options.path])
        #expect(result.status == 0, "\(result.standardError)")
        #expect(result.standardOutput.contains("logger.wandb: Weights & Biases logging is not supported"))

        let files = try FileManager.default.contentsOfDirectory(atPath: run.path)
        let log = try #require(files.first { $0.hasPrefix("train_tiny_") && $0.hasSuffix(".log") }, "\(files)")
        let logText = try String(contentsOf: run.appendingPathComponent(log), encoding: .utf8)
        #expect(logText.contains("INFO: step 4 · loss") && logText.contains("WARNING: logger.wandb"))

        let rows = try String(contentsOf: run.appendingPathComponent("metrics.jsonl"), encoding: .utf8).split(separator: "\n")
        #expect(rows.count == 4 && rows[3].contains("\"step\":4"))
        let models = try FileManager.default.contentsOfDirectory(atPath: run.appendingPathComponent("models").path).sorted()
        #expect(models == ["net_g_4.safetensors", "net_g_latest.safetensors"])
        #expect(try SafeTensors.read(from: run.appendingPathComponent("models/net_g_4.safetensors")).tensors.keys.sorted()
                == (try SafeTensors.read(from: run.appendingPathComponent("models/net_g_latest.safetensors")).tensors.keys.sorted()))
        let events = try FileManager.default.contentsOfDirectory(atPath: run.appendingPathComponent("tb_logger").path)
        #expect(events.count == 1 && events[0].hasPrefix("events.out.tfevents."))
    }

    @Test func optionsErrorsNameTheKeyOrFile() throws {
        let root = try ToolRunner.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: root) }
        let data = root.appendingPathComponent("data")
        try Self.makePairedFolder(in: data, count: 2)
        let options = root.appendingPathComponent("bad.yml")
        let text = Self.options(data: data, experiments: root.appendingPathComponent("run"))
            .replacingOccurrences(of: "type: AdamW", with: "type: SGD")
        try text.write(to: options, atomically: true, encoding: .utf8)
        let result = try ToolRunner.run(["train", "--options", options.path])
        #expect(result.status != 0)
        #expect(result.standardError.contains("train.optim_g.type"))
        #expect(result.standardError.split(separator: "\n").count == 1)

        // A distillation without the teacher's weights says which key is missing.
        let distill = root.appendingPathComponent("distill.yml")
        try Self.options(data: data, experiments: root.appendingPathComponent("run2"),
                         extra: "network_teacher:\n  \(Self.tinyRestormer)")
            .write(to: distill, atomically: true, encoding: .utf8)
        let noTeacher = try ToolRunner.run(["distill", "--options", distill.path])
        #expect(noTeacher.status != 0)
        #expect(noTeacher.standardError.contains("pretrain_network_teacher"))

        // Unmatched files are reported by name.
        try FileManager.default.removeItem(at: data.appendingPathComponent("target/1.png"))
        let unmatched = try ToolRunner.run(["train", "--options",
                                            { let u = root.appendingPathComponent("ok.yml")
                                              try? Self.options(data: data, experiments: root.appendingPathComponent("run3"))
                                                .write(to: u, atomically: true, encoding: .utf8)
                                              return u.path }()])
        #expect(unmatched.status != 0)
        #expect(unmatched.standardError.contains("1.png"))
    }
}
