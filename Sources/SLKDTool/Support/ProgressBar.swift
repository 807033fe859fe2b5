import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A one-line progress bar with an ETA, redrawn in place on standard error — and silent when
/// standard error is not a terminal, so logs and pipes never fill with carriage returns.
final class ProgressBar {
    /// Work units of the whole job (e.g. training steps of all phases).
    let total: Int
    private(set) var done = 0
    let isEnabled: Bool
    private let started = Date()
    private var lastDraw = Date.distantPast

    init(total: Int, enabled: Bool = isatty(STDERR_FILENO) == 1) {
        self.total = max(total, 1)
        self.isEnabled = enabled
    }

    /// Records `units` more units done and redraws (at most ten times a second).
    func advance(by units: Int = 1, label: String) {
        done = min(done + units, total)
        let now = Date()
        guard isEnabled, now.timeIntervalSince(lastDraw) >= 0.1 || done == total else { return }
        lastDraw = now
        draw(label: label, now: now)
    }

    /// Redraws with a new label without advancing.
    func relabel(_ label: String) {
        guard isEnabled else { return }
        draw(label: label, now: Date())
    }

    /// Clears the line so that ordinary output can follow.
    func finish() {
        guard isEnabled else { return }
        FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
    }

    private func draw(label: String, now: Date) {
        let fraction = Double(done) / Double(total)
        let width = 28
        let filled = Int((fraction * Double(width)).rounded(.down))
        let bar = String(repeating: "█", count: filled) + String(repeating: "░", count: width - filled)
        let elapsed = now.timeIntervalSince(started)
        let eta = done > 0 ? elapsed / fraction - elapsed : .nan
        let percent = String(format: "%3.0f%%", fraction * 100)
        let line = "\r\u{1B}[K\(bar) \(percent) \(label) · \(Self.clock(elapsed)) elapsed · ETA \(Self.clock(eta))"
        FileHandle.standardError.write(Data(line.utf8))
    }

    /// `m:ss`, or `--:--` while unknown.
    static func clock(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds >= 0 else { return "--:--" }
        let s = Int(seconds.rounded())
        return String(format: "%d:%02d", s / 60, s % 60)
    }
}
