import Foundation
import SLKDDistill
import SLKDModels
import SLKDReport
import SLKDTensor

/// The files `slkd demo` leaves behind: `metrics.json`, `report.md`, `report.html`,
/// `strips/<image>.png`, the charts as SVG (`held-out-psnr.svg`, `training-psnr.svg`,
/// `loss-<method>.svg`) and `weights/<method>.safetensors`.
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
        for chart in charts() {
            try AtomicFile.write(Data(chart.chart.file.utf8), to: folder.appendingPathComponent(chart.file))
        }
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
            if !method.gradientShares.isEmpty {
                var entry = root[method.name] as! [String: Any]
                entry["gradient_shares"] = method.gradientShares
                root[method.name] = entry
            }
        }
        let degraded = degradedScores
        root["degraded_input"] = ["psnr": degraded.mean.psnr, "ssim": degraded.mean.ssim]
        let s = outcome.settings
        root["run"] = [
            "seed": s.seed, "seconds": seconds, "held_out_images": s.heldOutImages, "excluded_images": excludedImages,
            "evaluation_crop": s.evaluationCrop.map { $0 as Any } ?? NSNull(),
            "patch_size": s.patchSize, "batch_size": s.batchSize, "student_steps": s.studentSteps,
            "learning_rate": s.learningRate,
            "teacher": teacherSource.map { "loaded from \($0)" } ?? "trained for \(s.teacherSteps) steps",
            "metrics": "PSNR (dB) and SSIM on RGB, 8-bit, no border crop, mean over the held-out images",
        ] as [String: Any]
        return try JSONSerialization.data(withJSONObject: root, options: [.prettyPrinted, .sortedKeys])
    }

    // MARK: Figures

    /// The gap between and around the panels of a strip, in pixels.
    static let stripGap = 6

    /// The panels of the strip for held-out image `index`, left to right: degraded, teacher, each
    /// method, clean; with PSNR against the clean image (none for the clean image itself).
    func panels(for index: Int) -> [(label: String, image: Tensor, psnr: Double?)] {
        let pair = outcome.heldOut[index]
        var panels: [(label: String, image: Tensor, psnr: Double?)] = [("Degraded", pair.degraded, degradedScores.images[index].psnr)]
        for method in outcome.methods {
            panels.append((method.label, method.restored[index], method.evaluation.images[index].psnr))
        }
        panels.append(("Clean", pair.clean, nil))
        return panels
    }

    /// The panels side by side on white, without text: report.html and report.md label them.
    func strip(for index: Int) -> Tensor {
        let panels = panels(for: index)
        let (h, w) = (outcome.heldOut[index].clean.shape[1], outcome.heldOut[index].clean.shape[2])
        let gap = Self.stripGap
        var canvas = Canvas(width: panels.count * w + (panels.count + 1) * gap, height: h + 2 * gap)
        for (i, panel) in panels.enumerated() {
            canvas.paste(panel.image, x: gap + i * (w + gap), y: gap)
        }
        return canvas.tensor
    }

    /// Each method's colour, the same in every chart.
    var colors: [String: String] {
        Dictionary(uniqueKeysWithValues: outcome.methods.enumerated().map {
            ($0.element.name, LineChart.palette[$0.offset % LineChart.palette.count])
        })
    }

    /// The report's charts, by file name, in the order the report shows them: held-out PSNR per
    /// method, training PSNR of the students, then each trained network's loss.
    func charts() -> [(file: String, caption: String, chart: SVGDocument)] {
        let colors = self.colors
        var charts: [(file: String, caption: String, chart: SVGDocument)] = []
        let bars = [BarChart.Bar(label: "Degraded input", value: degradedScores.mean.psnr, color: "#999999")]
            + outcome.methods.map { BarChart.Bar(label: $0.label, value: $0.evaluation.mean.psnr, color: colors[$0.name]!) }
        charts.append(("held-out-psnr.svg", "PSNR on the held-out images, mean over the images",
                       BarChart(title: "Held-out PSNR", valueLabel: "PSNR (dB)", bars: bars).svg()))
        let students = outcome.methods.filter { !$0.losses.isEmpty && $0.name != "teacher" }
        if !students.isEmpty {
            let window = max(1, (students.map(\.losses.count).max() ?? 1) / 25)
            let chart = LineChart(title: "Training PSNR (batch vs clean, moving average of \(window))", yLabel: "PSNR (dB)",
                                  series: students.map { .init(label: $0.label, color: colors[$0.name]!, values: $0.trainingPSNR) },
                                  smoothing: window)
            charts.append(("training-psnr.svg", "Training PSNR of each student method", chart.svg()))
        }
        let teacher = outcome.methods.first { $0.name == "teacher" && !$0.losses.isEmpty }
        for method in (teacher.map { [$0] } ?? []) + students {
            let window = max(1, method.losses.count / 25)
            let chart = LineChart(title: "\(method.label): training loss (moving average of \(window))", yLabel: "Loss",
                                  series: [.init(label: method.label, color: colors[method.name]!, values: method.losses)],
                                  logarithmic: true, smoothing: window)
            charts.append(("loss-\(method.name).svg", "Training loss of \(method.label)", chart.svg()))
        }
        return charts
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

    /// A panel's caption: its label and, for restored and degraded images, PSNR.
    static func caption(_ panel: (label: String, image: Tensor, psnr: Double?)) -> String {
        panel.psnr.map { panel.label + String(format: " (%.2f dB)", $0) } ?? panel.label
    }

    func markdown() -> String {
        var lines = ["# SLKD demo report", "", settingsSentence, ""]
        lines.append("| " + Self.header.joined(separator: " | ") + " |")
        lines.append("|" + Self.header.map { _ in "---" }.joined(separator: "|") + "|")
        for row in rows { lines.append("| " + row.joined(separator: " | ") + " |") }
        lines += ["", "## Held-out images", ""]
        for (index, pair) in outcome.heldOut.enumerated() {
            lines += ["![\(pair.name)](strips/\(pair.name))", "",
                      "Left to right: " + panels(for: index).map(Self.caption).joined(separator: ", ") + ".", ""]
        }
        lines += ["## Charts", ""]
        for chart in charts() { lines += ["![\(chart.caption)](\(chart.file))", ""] }
        lines += ["Files: `metrics.json` (per method: psnr, ssim, parameters, macs), the charts as SVG, `weights/*.safetensors`.", ""]
        return lines.joined(separator: "\n")
    }

    func html() -> String {
        func escape(_ s: String) -> String { SVGDocument.escape(s) }
        let head = Self.header.map { "<th>\(escape($0))</th>" }.joined()
        let body = rows.map { "<tr>" + $0.map { "<td>\(escape($0))</td>" }.joined() + "</tr>" }.joined(separator: "\n")
        let strips = outcome.heldOut.indices.map(stripHTML).joined(separator: "\n")
        let charts = charts().map {
            "<figure class=\"chart\">\($0.chart.inline)<figcaption>\(escape($0.caption)) (<a href=\"\(escape($0.file))\">\(escape($0.file))</a>)</figcaption></figure>"
        }.joined(separator: "\n")
        let sentence = escape(settingsSentence).replacingOccurrences(of: "`", with: "")
        return """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8"><title>SLKD demo report</title>
            <style>body{font-family:system-ui,sans-serif;max-width:72rem;margin:2rem auto;padding:0 1rem;color:#222}
            table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3rem .6rem;text-align:right}
            td:first-child,th:first-child{text-align:left}img,svg{max-width:100%;height:auto}figure{margin:1rem 0}
            .labels{display:grid;font-size:.8rem;text-align:center;line-height:1.2}.labels span{overflow-wrap:anywhere}
            .psnr{color:#555}</style></head>
            <body><h1>SLKD demo report</h1><p>\(sentence)</p>
            <table><thead><tr>\(head)</tr></thead><tbody>
            \(body)
            </tbody></table>
            <h2>Held-out images</h2>
            \(strips)
            <h2>Charts</h2>
            \(charts)
            </body></html>

            """
    }

    /// One strip with its labels as HTML above it: a grid with a column per panel, padded by half
    /// a gap at each end so that every label is centred over its panel at any display width.
    func stripHTML(_ index: Int) -> String {
        func escape(_ s: String) -> String { SVGDocument.escape(s) }
        let pair = outcome.heldOut[index], panels = panels(for: index)
        let w = pair.clean.shape[2], gap = Self.stripGap
        let total = panels.count * w + (panels.count + 1) * gap
        let pad = String(format: "%.3f%%", 100 * Double(gap) / 2 / Double(total))
        let labels = panels.map { panel in
            "<span>\(escape(panel.label))" + (panel.psnr.map { String(format: "<br><span class=\"psnr\">%.2f dB</span>", $0) } ?? "") + "</span>"
        }.joined()
        return """
            <figure class="strip" style="max-width:\(total)px"><div class="labels" style="grid-template-columns:repeat(\(panels.count),1fr);padding:0 \(pad)">\(labels)</div>\
            <img src="strips/\(escape(pair.name))" alt="\(escape(pair.name)): \(escape(panels.map(Self.caption).joined(separator: ", ")))">\
            <figcaption>\(escape(pair.name))</figcaption></figure>
            """
    }
}
