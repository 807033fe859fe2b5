import ArgumentParser
import SLKDTensor

/// `--threads N`, shared by every compute command (`@OptionGroup var threads: ThreadOptions`).
///
/// SLKD splits its loops and large matrix products over its own pool (``Parallel/threadCount``)
/// and keeps OpenBLAS single-threaded underneath, so N bounds the threads of both. Without the
/// option the pool has one thread per active core.
struct ThreadOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Worker threads for SLKD's kernels and OpenBLAS (default: one per core).", valueName: "n"))
    var threads: Int?

    /// Checks N and applies it. ArgumentParser validates every option group after parsing and
    /// before `run()`, so applying here covers each command that embeds the group without a
    /// call in each `run()` that could be forgotten.
    func validate() throws {
        guard let threads else { return }
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1, got \(threads)") }
        Parallel.threadCount = threads
        // OpenBLAS stays serial under SLKD's pool (it would otherwise start one thread per core).
        BLASThreads.set(1)
    }
}
