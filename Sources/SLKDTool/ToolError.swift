import Foundation

/// An error reported as one line naming the file or option it concerns.
struct ToolError: Error, CustomStringConvertible {
    var description: String

    init(_ description: String) { self.description = description }

    /// Runs `body`, turning any library error into a one-line error that names `subject`
    /// (unless the message names it already).
    static func wrap<R>(_ subject: String, _ body: () throws -> R) throws -> R {
        do {
            return try body()
        } catch let error as ToolError {
            throw error
        } catch {
            let message = String(describing: error)
            throw ToolError(message.contains(subject) ? message : "\(subject): \(message)")
        }
    }
}
