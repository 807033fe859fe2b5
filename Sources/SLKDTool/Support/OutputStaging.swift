import Foundation

/// Files written under temporary names beside their destinations and renamed into place together,
/// so that a command that fails part-way leaves every destination as it was, without holding all
/// of its results in memory.
struct OutputStaging {
    private var staged: [(temporary: URL, destination: URL)] = []

    /// A temporary path in `destination`'s folder (hidden, unique to this process).
    mutating func stage(_ destination: URL) -> URL {
        let name = ".\(destination.lastPathComponent).slkd-staged-\(getpid())-\(staged.count)"
        let temporary = destination.deletingLastPathComponent().appendingPathComponent(name)
        staged.append((temporary, destination))
        return temporary
    }

    /// Renames every staged file over its destination (each rename is atomic).
    mutating func commit() throws {
        for (temporary, destination) in staged {
            guard rename(temporary.path, destination.path) == 0 else {
                throw ToolError("\(destination.path): cannot be written (\(String(cString: strerror(errno))))")
            }
        }
        staged.removeAll()
    }

    /// Removes staged files not committed (after a failure).
    mutating func discard() {
        for (temporary, _) in staged { try? FileManager.default.removeItem(at: temporary) }
        staged.removeAll()
    }
}
