import CSLKDMPI
import Foundation
import SLKDDistill

/// A failed MPI call, with MPI's own explanation.
public struct MPIError: Error, CustomStringConvertible, Equatable {
    /// The MPI function that failed.
    public var call: String
    /// Its error code.
    public var code: Int32
    /// `MPI_Error_string`'s text for the code.
    public var message: String

    public var description: String { "\(call) failed (\(code)): \(message)" }
}

/// The processes of an MPI job (`MPI_COMM_WORLD`) as a ``Communicator``: pass it to a
/// `TrainingRun` or `Trainer` and the run is data-parallel.
///
/// ```swift
/// let world = try MPICommunicator.world()
/// let run = try TrainingRun(options: options, task: .distill, communicator: world)
/// try run.run()
/// world.finalize()
/// ```
///
/// MPI is initialised with `MPI_Init_thread` at `MPI_THREAD_FUNNELED`: SLKD's worker threads and
/// the background loader never call MPI, only the thread that initialised it (the trainer's).
/// Errors are returned, not fatal (`MPI_ERRORS_RETURN`), and thrown as ``MPIError``. A process that
/// cannot continue calls ``abort(code:)``, which ends every process of the job at once, so that no
/// rank waits forever in a collective for a rank that is gone.
public final class MPICommunicator: Communicator {
    public let rank: Int
    public let size: Int
    private let communicator: MPI_Comm?
    private var finalized = false

    /// The one instance per process (MPI is initialised once).
    nonisolated(unsafe) private static var shared: MPICommunicator?

    /// `MPI_COMM_WORLD`, initialising MPI on first use.
    ///
    /// - Throws: ``MPIError`` when MPI cannot start or does not provide `MPI_THREAD_FUNNELED`.
    public static func world() throws(MPIError) -> MPICommunicator {
        if let shared { return shared }
        var provided: Int32 = 0
        try check("MPI_Init_thread", MPI_Init_thread(nil, nil, slkd_mpi_thread_funneled(), &provided))
        guard provided >= slkd_mpi_thread_funneled() else {
            throw MPIError(call: "MPI_Init_thread", code: provided,
                           message: "the MPI library provides thread level \(provided), below MPI_THREAD_FUNNELED")
        }
        let world = slkd_mpi_comm_world()
        try check("MPI_Comm_set_errhandler", MPI_Comm_set_errhandler(world, slkd_mpi_errors_return()))
        var rank: Int32 = 0, size: Int32 = 0
        try check("MPI_Comm_rank", MPI_Comm_rank(world, &rank))
        try check("MPI_Comm_size", MPI_Comm_size(world, &size))
        let created = MPICommunicator(communicator: world, rank: Int(rank), size: Int(size))
        shared = created
        return created
    }

    private init(communicator: MPI_Comm?, rank: Int, size: Int) {
        self.communicator = communicator
        self.rank = rank
        self.size = size
    }

    public func allReduceSum(_ values: UnsafeMutableBufferPointer<Float>) throws {
        try reduce(values, type: slkd_mpi_float())
    }

    public func allReduceSum(_ values: UnsafeMutableBufferPointer<Double>) throws {
        try reduce(values, type: slkd_mpi_double())
    }

    /// `MPI_Allreduce` in place, in pieces whose counts fit MPI's `int`.
    private func reduce<T>(_ values: UnsafeMutableBufferPointer<T>, type: MPI_Datatype) throws(MPIError) {
        guard let base = values.baseAddress, size > 1 else { return }
        for start in stride(from: 0, to: values.count, by: Int(Int32.max)) {
            let count = Int32(Swift.min(Int(Int32.max), values.count - start))
            try Self.check("MPI_Allreduce", MPI_Allreduce(slkd_mpi_in_place(), base + start, count, type, slkd_mpi_sum(), communicator))
        }
    }

    public func broadcast(_ bytes: UnsafeMutableRawBufferPointer, from root: Int) throws {
        guard let base = bytes.baseAddress, size > 1 else { return }
        for start in stride(from: 0, to: bytes.count, by: Int(Int32.max)) {
            let count = Int32(Swift.min(Int(Int32.max), bytes.count - start))
            try Self.check("MPI_Bcast", MPI_Bcast(base + start, count, slkd_mpi_byte(), Int32(root), communicator))
        }
    }

    public func barrier() throws {
        try Self.check("MPI_Barrier", MPI_Barrier(communicator))
    }

    /// Ends MPI for this process (all processes call it once, at the end of a run). Idempotent.
    public func finalize() {
        guard !finalized else { return }
        finalized = true
        MPI_Finalize()
    }

    /// Ends every process of the job with `code` (`MPI_Abort`): what a rank that hit an error
    /// does, so that the others do not wait for it in a collective.
    public func abort(code: Int32) -> Never {
        MPI_Abort(communicator, code)
        exit(code)  // MPI_Abort does not return; this keeps the compiler and a broken MPI honest
    }

    private static func check(_ call: String, _ code: Int32) throws(MPIError) {
        guard code != 0 else { return }  // MPI_SUCCESS
        var buffer = [CChar](repeating: 0, count: Int(slkd_mpi_max_error_string()) + 1)
        var length: Int32 = 0
        MPI_Error_string(code, &buffer, &length)
        let message = String(decoding: buffer.prefix(Int(length)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        throw MPIError(call: call, code: code, message: message)
    }
}

/// How a process learns it is one of several.
public enum Launcher: String, Sendable, CaseIterable {
    /// A single process.
    case none
    /// An MPI job started by `mpirun`/`mpiexec` or SLURM's `srun`.
    case mpi

    /// `.mpi` when the environment shows an MPI launcher: Open MPI's `mpirun` sets
    /// `OMPI_COMM_WORLD_SIZE`, PMIx launchers (`srun --mpi=pmix`) `PMIX_RANK`, PMI-2 ones
    /// (`srun --mpi=pmi2`) `PMI_SIZE`; `.none` otherwise.
    public static func detected(in environment: [String: String] = ProcessInfo.processInfo.environment) -> Launcher {
        let markers = ["OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_SIZE"]
        return markers.contains { environment[$0] != nil } ? .mpi : .none
    }

    /// Processes of this job on this machine, from the launcher's environment (1 when unknown):
    /// the divisor of the machine's cores when each rank picks its thread count.
    public static func processesPerNode(in environment: [String: String] = ProcessInfo.processInfo.environment) -> Int {
        for key in ["OMPI_COMM_WORLD_LOCAL_SIZE", "MPI_LOCALNRANKS", "SLURM_NTASKS_PER_NODE"] {
            if let text = environment[key], let n = Int(text.prefix { $0.isNumber }), n > 0 { return n }
        }
        return 1
    }
}
