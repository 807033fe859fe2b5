import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes whole files so that readers see either the old file or the complete new one.
///
/// The bytes go to a fresh temporary file in the destination's directory (same file system, so
/// `rename` is atomic), are flushed with `fsync`, and the temporary file is renamed over the
/// destination. On any failure the temporary file is removed and the destination is untouched.
///
/// A writer that is killed leaves its temporary file behind. Each writer holds an advisory lock
/// (`flock`) on its temporary file while it writes, and the next write to the same destination
/// removes every `.<name>.tmp-<n>` file whose lock it can take: the kernel drops a lock when its
/// process dies, so a lockable temporary file has no writer left.
package enum AtomicFile {
    /// Why an atomic write failed: the step and the system's message.
    package struct WriteError: Error, CustomStringConvertible {
        package var description: String
    }

    package static func write(_ bytes: UnsafeRawBufferPointer, to url: URL) throws(WriteError) {
        guard url.isFileURL else { throw WriteError(description: "not a file URL: \(url)") }
        let destination = url.path
        let directory = url.deletingLastPathComponent().path
        let name = url.lastPathComponent
        guard !name.isEmpty, name != "/" else { throw WriteError(description: "no file name in \(destination)") }

        // O_EXCL with a random suffix: never reuses or follows someone else's file.
        var temporary = ""
        var fd: Int32 = -1
        for _ in 0..<16 {
            temporary = (directory as NSString).appendingPathComponent(
                ".\(name).tmp-\(UInt32.random(in: 0...UInt32.max))")
            fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o666)  // umask applies
            if fd >= 0 || errno != EEXIST { break }
        }
        guard fd >= 0 else { throw WriteError(description: "cannot create a temporary file in \(directory): \(lastError())") }
        // Marks the file as in use for removeStaleTemporaries (released by close or by death).
        _ = flock(fd, LOCK_EX | LOCK_NB)
        removeStaleTemporaries(of: name, in: directory, except: temporary)

        func fail(_ step: String) -> WriteError {
            let message = "\(step) \(temporary): \(lastError())"
            close(fd)
            unlink(temporary)
            return WriteError(description: message)
        }
        var written = 0
        while written < bytes.count {
            let n = posixWrite(fd, bytes.baseAddress! + written, bytes.count - written)
            if n < 0 {
                if errno == EINTR { continue }
                throw fail("cannot write")
            }
            written += n
        }
        guard fsync(fd) == 0 else { throw fail("cannot fsync") }
        guard close(fd) == 0 else {
            let message = "cannot close \(temporary): \(lastError())"
            unlink(temporary)
            throw WriteError(description: message)
        }
        guard rename(temporary, destination) == 0 else {
            let message = "cannot rename \(temporary) to \(destination): \(lastError())"
            unlink(temporary)
            throw WriteError(description: message)
        }
        // Persist the rename itself; failure here leaves a complete file, so it is not an error.
        let dirFD = open(directory, O_RDONLY | O_CLOEXEC)
        if dirFD >= 0 { _ = fsync(dirFD); close(dirFD) }
    }

    package static func write(_ data: Data, to url: URL) throws(WriteError) {
        // Data.withUnsafeBytes cannot rethrow a typed error, so carry it out in a Result.
        let result: Result<Void, WriteError> = data.withUnsafeBytes { raw in
            Result { () throws(WriteError) in try write(raw, to: url) }
        }
        try result.get()
    }

    private static func lastError() -> String { String(cString: strerror(errno)) }

    /// The prefix of the temporary files of writes to `name`.
    static func temporaryPrefix(of name: String) -> String { ".\(name).tmp-" }

    /// Removes the temporary files that killed writes to `name` left in `directory`. Best effort:
    /// a file another writer still holds (its lock is taken) or that vanished is skipped.
    static func removeStaleTemporaries(of name: String, in directory: String, except current: String) {
        let prefix = temporaryPrefix(of: name)
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return }
        for entry in entries where entry.hasPrefix(prefix) {
            let suffix = entry.dropFirst(prefix.count)
            guard !suffix.isEmpty, suffix.allSatisfy(\.isASCII), suffix.allSatisfy(\.isNumber) else { continue }
            let path = (directory as NSString).appendingPathComponent(entry)
            guard path != current else { continue }
            let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
            guard fd >= 0 else { continue }
            if flock(fd, LOCK_EX | LOCK_NB) == 0 { unlink(path) }
            close(fd)
        }
    }
}

/// `write(2)`, named apart from ``AtomicFile/write(_:to:)``.
private func posixWrite(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int { write(fd, buffer, count) }
