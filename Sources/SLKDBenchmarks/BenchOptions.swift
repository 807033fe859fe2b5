import ArgumentParser
import SLKDTensor

/// slkd-bench's command line, parsed by ArgumentParser so that a malformed number is an error
/// (it used to fall back to the default silently) and `--help` lists every option.
struct BenchOptions: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "slkd-bench",
        abstract: "Time SLKDTensor kernels against raw sgemm and memcpy, or profile one SLKD training step.",
        discussion: """
            Without --distill-step: every case (or those --filter selects) is timed and printed as \
            one table, each beside its baseline measured in the same run (raw cblas_sgemm on the \
            same buffers for matrix products, a memcpy of the same bytes for memory-bound ops). \
            Scripts/bench/torch_bench.py times the same cases in PyTorch; Scripts/bench/compare.py \
            joins the two JSON files.

            With --distill-step: one SLKD training step (Res-SL student, Restormer teachers) is \
            timed phase by phase, and the loss terms one by one.

            Examples:
              slkd-bench --filter matmul,conv --seconds 2 --json slkd.json
              slkd-bench --distill-step --batch 4 --patch 64 --steps 3 --threads 2
            """,
        version: SLKDVersion.current)

    @Option(help: ArgumentHelp("Run only the cases whose name contains one of these comma-separated substrings.",
                               valueName: "substring[,substring…]"))
    var filter: String?

    @Option(name: .customLong("json"), help: ArgumentHelp("Also write the results as JSON to this file.", valueName: "out.json"))
    var jsonPath: String?

    @Option(help: ArgumentHelp("Seconds of measured runs per case (the run count follows from it, 5…51).", valueName: "s"))
    var seconds = 1.0

    @Option(help: ArgumentHelp("Threads for SLKD's kernels and the raw BLAS baselines (default: one per core).", valueName: "n"))
    var threads: Int?

    @Flag(help: "Profile one SLKD training step instead of the kernel cases.")
    var distillStep = false

    @Flag(help: "Print the gradient bytes a data-parallel SLKD step all-reduces, per student of Table I.")
    var gradientBytes = false

    @Option(help: ArgumentHelp("--distill-step: batch size.", valueName: "n"))
    var batch = 8

    @Option(help: ArgumentHelp("--distill-step: patch side in pixels.", valueName: "n"))
    var patch = 128

    @Option(help: ArgumentHelp("--distill-step: timed steps after one warm-up step.", valueName: "n"))
    var steps = 1

    @Flag(help: "--distill-step: run teachers A and B in one forward pass of twice the batch.")
    var batchedTeachers = false

    @Option(help: ArgumentHelp("--distill-step: run the teachers on slices of this many images.", valueName: "n"))
    var teacherSlice: Int?

    @Flag(name: .customLong("no-memory-cache"), help: "Disable the tensor memory cache (every buffer from malloc).")
    var noMemoryCache = false

    /// The `--filter` substrings (nil: every case).
    var filters: [String]? { filter?.split(separator: ",").map(String.init) }

    func validate() throws {
        if !(seconds > 0 && seconds.isFinite) { throw ValidationError("--seconds must be a positive number of seconds, got \(seconds)") }
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1, got \(threads)") }
        for (name, value) in [("--batch", batch), ("--patch", patch), ("--steps", steps)] where value < 1 {
            throw ValidationError("\(name) must be at least 1, got \(value)")
        }
        if let teacherSlice, teacherSlice < 1 { throw ValidationError("--teacher-slice must be at least 1, got \(teacherSlice)") }
        if let filters, filters.isEmpty || filters.contains("") {
            throw ValidationError("--filter needs comma-separated, non-empty substrings")
        }
    }
}
