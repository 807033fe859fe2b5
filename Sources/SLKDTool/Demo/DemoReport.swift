import Foundation
import SLKDDistill
import SLKDModels
import SLKDTensor

/// The files `slkd demo` leaves behind: `metrics.json`, `report.md`, `report.html`,
/// `strips/<image>.png`, `curves.png` and `weights/<method>.safetensors`.
struct DemoReport {
    let outcome: ExperimentOutcome
    /// Wall-clock seconds of the whole run.
    let seconds: Double
    /// The teacher's file name when it was loaded rather than trained.
    let teacherSource: String?
    /// Sample images a validation run left out of training and scoring alike (the test images).
    let excludedImages: [String]

    /// Scores of the degraded inputs themselves (the floor every method must beat), one per
    /// held-out image in order; computed once, read by the table, the JSON and every strip.
    let degradedScores: EvaluationReport

    init(outcome: ExperimentOutcome, seconds: Double, teacherSource: String?, excludedImages: [String] = []) throws {
        self.excludedImages = excludedImages
        self.outcome = outcome
        self.seconds = seconds
        self.teacherSource = teacherSource
        let options = outcome.methods.first?.evaluation.options ?? EvaluationOptions(testYChannel: false)
        let scores = try outcome.heldOut.map {
            try TestSetEvaluation.score($0.degraded, against: $0.clean, name: $0.name, options: options)
        }
        degradedScores = EvaluationReport(dataset: "held-out sample images", options: options, images: scores)
    }

    func write(to folder: URL) throws {
        let fm = FileManager.default
        for sub in ["strips", "weights"] {
            try fm.createDirectory(at: folder.appendingPathComponent(sub), withIntermediateDirectories: true)
        }
        try AtomicFile.write(try metricsJSON(), to: folder.appendingPathComponent("metrics.json"))
        for (index, pair) in outcome.heldOut.enumerated() {
            try strip(for: index).writePNG(to: folder.appendingPathComponent("strips").appendingPathComponent(pair.name))
        }
        try curves().writePNG(to: folder.appendingPathComponent("curves.png"))
        for method in outcome.methods {
            let url = folder.appendingPathComponent("weights").appendingPathComponent("\(method.name).safetensors")
            if method.name == "teacher" {
                // A teacher trained in this run was saved as soon as it was trained
                // (`DistillationExperiment.run(saveTrainedTeacher:)`); only a loaded one is copied here.
                guard teacherSource != nil else { continue }
                try DemoTeacher.save(method.model, settings: outcome.settings, to: url)
            } else {
                try SafeTensors.write(method.model.stateDictionary(), to: url)
            }
        }
        try AtomicFile.write(Data(markdown().utf8), to: folder.appendingPathComponent("report.md"))
        try AtomicFile.write(Data(html().utf8), to: folder.appendingPathComponent("report.html"))
    }

    // MARK: metrics.json

    func metricsJSON() throws -> Data {
        var root: [String: Any] = [:]
        for method in outcome.methods {
            root[method.name] = [
                "label": method.label,
                "psnr": method.evaluation.mean.psnr,
                "ssim": method.evaluation.mean.ssim,
                "parameters": method.parameters,
                "macs": method.macs,
                "macs_input": method.macsInput,
                "training_seconds": method.trainingSeconds,
                "training_steps": method.losses.count,
                "final_loss": method.losses.last.map { $0 as Any } ?? NSNull(),
                "images": method.evaluation.images.map { ["image": $0.image, "psnr": $0.psnr, "ssim": $0.ssim] },
            ] as [String: Any]
        }
        let degraded = degradedScores
        root["degraded_input"] = ["psnr": degraded.mean.psnr, "ssim": degraded.mean.ssim]
        let s = outcome.settings
        root["run"] = [
            "seed": s.seed, "seconds": seconds, "held_out_images": s.heldOutImages, "excluded_images": excludedImages,
            "evaluation_crop": s.evaluationCrop.map { $0 as Any } ?? NSNull(),
            "patch_size": s.patchSize, "batch_size": s.batchSize, "student_steps": s.studentSteps,
            "teacher": teacherSource.map { "loaded from \($0)" } ?? "trained for \(s.teacherSteps) steps",
            "metrics": "PSNR (dB) and SSIM on RGB, 8-bit, no border crop, mean over the held-out images",
        ] as [String: Any]
        return try JSONSerialization.data(withJSONObject: root, options: [.prettyPrinted, .sortedKeys])
    }

    // MARK: Figures

    /// Degraded · teacher · each method · clean, side by side with labels and PSNR.
    func strip(for index: Int) -> Tensor {
        let pair = outcome.heldOut[index]
        var panels: [(label: String, image: Tensor, psnr: Double?)] = [("DEGRADED", pair.degraded, degradedScores.images[index].psnr)]
        for method in outcome.methods {
            panels.append((method.label, method.restored[index], method.evaluation.images[index].psnr))
        }
        panels.append(("CLEAN", pair.clean, nil))
        let (h, w) = (pair.clean.shape[1], pair.clean.shape[2])
        let gap = 6, header = 16, footer = 16
        var canvas = Canvas(width: panels.count * w + (panels.count + 1) * gap, height: h + header + footer + 2 * gap)
        for (i, panel) in panels.enumerated() {
            let x = gap + i * (w + gap)
            canvas.text(Self.fit(panel.label, width: w), x: x, y: gap)
            canvas.paste(panel.image, x: x, y: gap + header)
            if let psnr = panel.psnr {
                canvas.text(String(format: "%.2f DB", psnr), x: x, y: gap + header + h + 5, color: (0.35, 0.35, 0.35))
            }
        }
        return canvas.tensor
    }

    /// Training PSNR of every student method overlaid, then each method's loss.
    func curves() -> Tensor {
        let students = outcome.methods.filter { !$0.losses.isEmpty && $0.name != "teacher" }
        let teacher = outcome.methods.first { $0.name == "teacher" && !$0.losses.isEmpty }
        let panelWidth = 640, panelHeight = 260
        let panels = 1 + students.count + (teacher == nil ? 0 : 1)
        var canvas = Canvas(width: panelWidth, height: panels * panelHeight)
        let window = max(1, (students.map(\.losses.count).max() ?? 1) / 25)
        let colors = Dictionary(uniqueKeysWithValues: outcome.methods.enumerated().map {
            ($0.element.name, LineChart.palette[$0.offset % LineChart.palette.count])
        })
        LineChart(title: "TRAINING PSNR (DB, BATCH VS CLEAN)",
                  series: students.map { .init(label: $0.label, color: colors[$0.name]!, values: $0.trainingPSNR) },
                  smoothing: window)
            .draw(into: &canvas, x: 0, y: 0, width: panelWidth, height: panelHeight)
        var row = 1
        for method in (teacher.map { [$0] } ?? []) + students {
            LineChart(title: "\(method.label) LOSS", series: [.init(label: method.label, color: colors[method.name]!, values: method.losses)],
                      logarithmic: true, smoothing: max(1, method.losses.count / 25))
                .draw(into: &canvas, x: 0, y: row * panelHeight, width: panelWidth, height: panelHeight)
            row += 1
        }
        return canvas.tensor
    }

    /// `label`, shortened to fit `width` pixels of the 5×7 font.
    static func fit(_ label: String, width: Int) -> String {
        let characters = max(1, (width + 1) / 6)
        return label.count <= characters ? label : String(label.prefix(characters))
    }

    // MARK: Text reports

    /// Rows of the summary table: method, parameters, reduction, MACs, PSNR, SSIM, time.
    var rows: [[String]] {
        let teacher = outcome.method("teacher")
        let degraded = degradedScores.mean
        var rows = [["Degraded input", "–", "–", "–", String(format: "%.2f", degraded.psnr), String(format: "%.4f", degraded.ssim), "–"]]
        for m in outcome.methods {
            let reduction = teacher.map { String(format: "%.1f×", Double($0.parameters) / Double(m.parameters)) } ?? "–"
            let macReduction = teacher.map { String(format: " (%.1f×)", Double($0.macs) / Double(m.macs)) } ?? ""
            let time = m.losses.isEmpty ? "loaded" : String(format: "%.0f s", m.trainingSeconds)
            rows.append([m.label, m.parameters.formatted(), reduction, String(format: "%.3f", Double(m.macs) / 1e9) + macReduction,
                         String(format: "%.2f", m.evaluation.mean.psnr), String(format: "%.4f", m.evaluation.mean.ssim), time])
        }
        return rows
    }

    static let header = ["Method", "Parameters", "Teacher / method", "GMAC", "PSNR (dB)", "SSIM", "Training"]

    /// The table as aligned plain text, for the terminal.
    var summaryTable: String {
        let all = [Self.header] + rows
        let widths = (0..<Self.header.count).map { c in all.map { $0[c].count }.max() ?? 0 }
        return all.map { row in
            zip(row, widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }.joined(separator: "  ")
        }.joined(separator: "\n")
    }

    var settingsSentence: String {
        let s = outcome.settings
        let teacher = teacherSource.map { "loaded from `\($0)` (trained by this project, see `Resources/DemoTeacher/README.md`)" }
            ?? "trained here for \(s.teacherSteps) steps"
        let excluded = excludedImages.isEmpty ? "" : " except \(excludedImages.joined(separator: ", ")) (a validation run: they take no part)"
        return """
            Sample images with synthetic rain streaks and Gaussian noise (σ \(s.noiseSigma.lowerBound)–\(s.noiseSigma.upperBound)). \
            Held out for evaluation: \(s.heldOutImages.joined(separator: ", ")) \
            (centre \(s.evaluationCrop.map { "\($0)×\($0)" } ?? "whole images")); trained on the other \
            sample images\(excluded) in random \(s.patchSize)×\(s.patchSize) patches, batch \(s.batchSize). Teacher \(teacher). \
            Each student method: \(s.studentSteps) steps from the same initialisation and the same batches, Adam, \
            cosine learning rate \(s.learningRate) → \(s.minimumLearningRate), seed \(s.seed). PSNR/SSIM on RGB, 8-bit. \
            MACs for one \(outcome.methods.first?.macsInput.map(String.init).joined(separator: "×") ?? "") forward pass. \
            Whole run: \(ProgressBar.clock(seconds)).
            """
    }

    func markdown() -> String {
        var lines = ["# SLKD demo report", "", settingsSentence, ""]
        lines.append("| " + Self.header.joined(separator: " | ") + " |")
        lines.append("|" + Self.header.map { _ in "---" }.joined(separator: "|") + "|")
        for row in rows { lines.append("| " + row.joined(separator: " | ") + " |") }
        lines += ["", "## Held-out images", "",
                  "Left to right: degraded input, teacher, " + outcome.methods.dropFirst().map(\.label).joined(separator: ", ")
                  + ", clean. PSNR under each.", ""]
        for pair in outcome.heldOut { lines.append("![\(pair.name)](strips/\(pair.name))") }
        lines += ["", "## Training curves", "", "![training curves](curves.png)", "",
                  "Files: `metrics.json` (per method: psnr, ssim, parameters, macs), `weights/*.safetensors`.", ""]
        return lines.joined(separator: "\n")
    }

    func html() -> String {
        func escape(_ s: String) -> String {
            s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
        }
        let head = Self.header.map { "<th>\(escape($0))</th>" }.joined()
        let body = rows.map { "<tr>" + $0.map { "<td>\(escape($0))</td>" }.joined() + "</tr>" }.joined(separator: "\n")
        let strips = outcome.heldOut.map { "<figure><img src=\"strips/\(escape($0.name))\" alt=\"\(escape($0.name))\"><figcaption>\(escape($0.name))</figcaption></figure>" }
            .joined(separator: "\n")
        let sentence = escape(settingsSentence).replacingOccurrences(of: "`", with: "")
        return """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8"><title>SLKD demo report</title>
            <style>body{font-family:system-ui,sans-serif;max-width:72rem;margin:2rem auto;padding:0 1rem;color:#222}
            table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3rem .6rem;text-align:right}
            td:first-child,th:first-child{text-align:left}img{max-width:100%}figure{margin:1rem 0}</style></head>
            <body><h1>SLKD demo report</h1><p>\(sentence)</p>
            <table><thead><tr>\(head)</tr></thead><tbody>
            \(body)
            </tbody></table>
            <h2>Held-out images</h2><p>Left to right: degraded input, teacher, \(escape(outcome.methods.dropFirst().map(\.label).joined(separator: ", "))), clean.</p>
            \(strips)
            <h2>Training curves</h2><img src="curves.png" alt="training curves">
            </body></html>

            """
    }
}
