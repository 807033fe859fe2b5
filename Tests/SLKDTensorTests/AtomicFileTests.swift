import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif
import SLKDTensor

@Suite("atomic writes: stale temporary files")
struct AtomicFileTests {
    @Test("a killed write's temporary file is removed by the next write to the same file")
    func staleTemporariesAreRemoved() throws {
        let dir = makeScratchDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("latest.safetensors")
        let stale = dir.appendingPathComponent(".latest.safetensors.tmp-123456")
        let other = dir.appendingPathComponent(".other.safetensors.tmp-42")
        let notOurs = dir.appendingPathComponent(".latest.safetensors.tmp-notes")
        for file in [stale, other, notOurs] { try Data([1, 2, 3]).write(to: file) }
        try SafeTensors.write([("x", Tensor(shape: [1], scalars: [1] as [Float]))], to: url)
        let left = try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted()
        #expect(left == [".latest.safetensors.tmp-notes", ".other.safetensors.tmp-42", "latest.safetensors"])
    }

    @Test("a temporary file another writer still holds is left alone")
    func liveTemporariesAreKept() throws {
        let dir = makeScratchDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("latest.safetensors")
        let live = dir.appendingPathComponent(".latest.safetensors.tmp-99")
        try Data([1]).write(to: live)
        let fd = open(live.path, O_RDONLY)
        #expect(fd >= 0)
        defer { close(fd) }
        #expect(flock(fd, LOCK_EX | LOCK_NB) == 0)  // what a writer holds while it writes
        try SafeTensors.write([("x", Tensor(shape: [1], scalars: [1] as [Float]))], to: url)
        #expect(FileManager.default.fileExists(atPath: live.path))
    }
}
