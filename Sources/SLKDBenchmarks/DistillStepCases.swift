// One full SLKD training step, phase by phase (issue 6): Res-SL student, Restormer teachers
// (teacher B = teacher A's weights on the clean batch, the default of Docs/Method.md#networks), random init, batch 8,
// patch 128 by default. Run with
//
//   slkd-bench --distill-step [--batch B] [--patch P] [--steps N] [--json out.json]
//
// The step is the trainer's (`Trainer.takeStep`), taken apart so that each phase is timed: the
// batch (from a `PairedDatasetBatchSource` with its background loader), the objective's loss with
// `DistillationObjective.profiling` on (teacher A, teacher B, student forward, criterion), backward,
// and the optimizer (global gradient norm + Adam). Each loss term is then timed on its own, on the
// same forward results (`lastForward`) of the last step, through the same public loss types the
// criterion calls.

import Foundation
import SLKDDistill
import SLKDModels
import SLKDTensor

struct DistillStepOptions {
    var batch = 8
    var patch = 128
    /// Timed steps (after one warm-up step).
    var steps = 1
    /// `DistillationObjective.batchesTeacherForwards`: teachers A and B in one forward of 2·batch.
    var batchedTeachers = false
    /// `DistillationObjective.teacherSliceSize`.
    var teacherSlice: Int?
    var jsonPath: String?
}

struct DistillStepPhase: Codable {
    var name: String
    /// Median over the timed steps, milliseconds.
    var ms: Double
    /// Whether it is part of the step total (loss-term rows re-time parts of `criterion`).
    var inTotal: Bool
}

struct DistillStepReport: Codable {
    var batch: Int
    var patch: Int
    var steps: Int
    var batchedTeachers: Bool
    var threads: Int
    var phases: [DistillStepPhase]
    var totalMs: Double
    var perImageStepMs: Double
    var peakTensorBytes: Int
    var maxRSSBytes: Int
    var loss: Double
    var terms: [String: Double]
}

private func milliseconds(_ body: () throws -> Void) rethrows -> Double {
    let t0 = now()
    try body()
    return Double(now() - t0) / 1e6
}

/// Times each loss term of the default SLKD configuration on the forward results of a step, with
/// the graph recorded as in the step. Keys are the table's row names.
private func timeTerms(_ objective: DistillationObjective, _ f: DistillationForward) -> [(String, Double)] {
    let c = objective.configuration, criterion = objective.criterion
    guard let scm = objective.scm, let teacherA = f.teacherA, let teacherB = f.teacherB else { return [] }
    var rows: [(String, Double)] = []
    rows.append(("  L1 (vs teacher B)", milliseconds { sink &+= c.pixelLoss(f.student, teacherB.detached()).count }))
    rows.append(("  KL (vs teacher A)", milliseconds { sink &+= criterion.kl(student: f.student, teacher: teacherA).count }))
    var mappedNC: (student: [Tensor], teacher: [Tensor]) = ([], [])
    let scmNC = milliseconds { mappedNC = scm(student: f.studentEncoder, teacher: f.teacherAEncoder) }
    let nc = criterion.degradationRemoval
    var teacherNC = 0.0
    let ncTotal = milliseconds {
        for t in mappedNC.teacher {
            let scales = nc.scales(height: t.shape[2], width: t.shape[3])
            teacherNC += milliseconds { sink &+= withoutGradients { nc.features(t, scales: scales).natural.count } }
        }
        sink &+= nc(student: mappedNC.student, teacher: mappedNC.teacher).count
    }
    rows.append(("  L_nc: SCM (encoder taps)", scmNC))
    rows.append(("  L_nc: BRISQUE features + loss", ncTotal - teacherNC))
    rows.append(("    of which teacher-side φ_B (no graph)", teacherNC))
    var mappedET: (student: [Tensor], teacher: [Tensor]) = ([], [])
    let scmET = milliseconds {
        mappedET = scm(student: f.studentDecoder, teacher: f.teacherBDecoder, offset: scm.decoderTapOffset)
    }
    let et = criterion.imageReconstruction
    var teacherET = 0.0
    let etTotal = milliseconds {
        for t in mappedET.teacher {
            teacherET += milliseconds { sink &+= withoutGradients { et.features(t).edge.count } }
        }
        sink &+= et(student: mappedET.student, teacher: mappedET.teacher).count
    }
    rows.append(("  L_et: SCM (decoder taps)", scmET))
    rows.append(("  L_et: PIQE features + loss", etTotal - teacherET))
    rows.append(("    of which teacher-side φ_P (no graph)", teacherET))
    return rows
}

func runDistillStepProfile(_ options: DistillStepOptions) throws {
    let (b, p) = (options.batch, options.patch)
    print("distill step: Res-SL student, Restormer teachers (B = A's weights, clean input), batch \(b), patch \(p), "
          + "\(Parallel.threadCount) threads" + (options.batchedTeachers ? ", teachers A and B in one forward" : "")
          + (options.teacherSlice.map { ", teachers in slices of \($0)" } ?? ""))
    let teacher = try ModelPreset.restormer.build(seed: 1)
    let student = try ModelPreset.resSL.build(seed: 2)
    var g = RandomGenerator(seed: 3)
    let objective = DistillationObjective(student: student, teacherA: teacher, configuration: .slkd, using: &g)
    objective.profiling = true
    objective.batchesTeacherForwards = options.batchedTeachers
    objective.teacherSliceSize = options.teacherSlice
    var dataset = try SyntheticPairedDataset.sampleImages(degradation: GaussianNoise(sigma: 15...50), seed: 4)
    dataset.window = p + 32
    let data = try PairedDatasetBatchSource(dataset: dataset, batchSize: b, augmentation: PatchAugmentation(patchSize: p),
                                            seed: 5, prefetch: 2)
    // The trainer's optimizer and schedule (`Trainer.takeStep`), held here so that each phase can be timed.
    let configuration = TrainerConfiguration(totalSteps: 1000)
    let parameters = ModuleGroup(objective.trainableModules)
    let optimizer = Adam(learningRate: configuration.learningRate, beta1: configuration.beta1, beta2: configuration.beta2,
                         epsilon: configuration.adamEpsilon, weightDecay: configuration.weightDecay)
    let schedule = configuration.schedule
    var generator = RandomGenerator(seed: configuration.seed)

    let order = ["data (wait for the loader)", "teacher A forward (no graph)", "teacher B forward (no graph, clean input)",
                 "student forward", "losses forward (SCM + L1 + KL + L_nc + L_et)", "backward", "optimizer (grad norm + Adam)",
                 "other (objective bookkeeping)"]
    var samples: [[String: Double]] = []
    var termRows: [[(String, Double)]] = []
    var peak = 0
    var lastLoss: (value: Double, terms: [String: Double]) = (.nan, [:])
    for step in 0..<(1 + options.steps) {
        MemoryTracker.shared.resetPeak()
        var t: [String: Double] = [:]
        var batch: TrainingBatch!
        t[order[0]] = try milliseconds { batch = try data.nextBatch() }
        var loss: StepLoss!
        let lossMs = milliseconds { loss = objective.loss(for: batch, generator: &generator) }
        var gradients: Gradients!
        t[order[5]] = milliseconds { gradients = loss.total.backward() }
        t[order[6]] = milliseconds {
            sink &+= gradients.globalNorm(of: parameters).isFinite ? 1 : 0
            optimizer.learningRate = schedule.learningRate(at: step)
            optimizer.update(parameters, gradients: gradients)
        }
        let profile = objective.lastProfile!
        t[order[1]] = profile.teacherA * 1e3
        t[order[2]] = profile.teacherB * 1e3
        t[order[3]] = profile.student * 1e3
        t[order[4]] = profile.criterion * 1e3
        t[order[7]] = Swift.max(0, lossMs - profile.total * 1e3)
        let stepMs = t[order[0]]! + lossMs + t[order[5]]! + t[order[6]]!
        print("  step \(step)\(step == 0 ? " (warm-up)" : ""): \(fmt(stepMs / 1e3, 2)) s (loss forward \(fmt(lossMs / 1e3, 2)) s, "
              + "phases inside it \(fmt(profile.total, 2)) s)")
        lastLoss = (loss.total.item, loss.terms)
        gradients = nil
        loss = nil
        if step >= 1 {
            peak = Swift.max(peak, MemoryTracker.shared.peakBytes)
            samples.append(t)
        }
        // The loss terms are re-timed after the last step only: between steps the re-timing would
        // change what the next step finds in the tensor memory cache, which training does not do.
        if step == options.steps { termRows.append(timeTerms(objective, objective.lastForward!)) }
        // Drop the kept forward (and its graph) so that the next step starts from a clean slate.
        objective.profiling = false
        objective.profiling = true
    }
    objective.profiling = false

    func median(_ values: [Double]) -> Double { let s = values.sorted(); return s[s.count / 2] }
    var phases = order.map { name in DistillStepPhase(name: name, ms: median(samples.map { $0[name]! }), inTotal: true) }
    let termNames = termRows[0].map(\.0)
    let terms = termNames.indices.map { k in DistillStepPhase(name: termNames[k], ms: median(termRows.map { $0[k].1 }), inTotal: false) }
    phases.insert(contentsOf: terms, at: 5)
    let total = phases.filter(\.inTotal).map(\.ms).reduce(0, +)

    print("")
    print("| phase | ms | % of step |")
    print("|---|---:|---:|")
    for phase in phases {
        print("| \(phase.name) | \(fmt(phase.ms, 0)) | \(fmt(100 * phase.ms / total, 1)) |")
    }
    print("| **total step** | **\(fmt(total, 0))** | 100 |")
    print("| per image-step (total / \(b)) | \(fmt(total / Double(b), 0)) | |")
    print("")
    print("peak tensor memory \(fmt(Double(peak) / 1e9, 2)) GB, max RSS \(fmt(Double(maxRSSBytes()) / 1e9, 2)) GB; "
          + "loss \(lastLoss.value) terms \(lastLoss.terms.sorted { $0.key < $1.key })")

    if let path = options.jsonPath {
        let report = DistillStepReport(batch: b, patch: p, steps: options.steps, batchedTeachers: options.batchedTeachers, threads: Parallel.threadCount, phases: phases,
                                       totalMs: total, perImageStepMs: total / Double(b), peakTensorBytes: peak,
                                       maxRSSBytes: maxRSSBytes(), loss: lastLoss.value, terms: lastLoss.terms)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(report).write(to: URL(fileURLWithPath: path))
        print("wrote \(path)")
    }
}
