import Foundation
import SLKDModels

/// Why a ``TrainingRun`` could not be set up from options: what is wrong (`subject` names the
/// file, folder or options key) and why, in one line.
public struct TrainingSetupError: Error, CustomStringConvertible, Equatable {
    /// The file, folder or key at fault.
    public var subject: String
    /// What is wrong with it.
    public var reason: String

    public init(_ subject: String, _ reason: String) {
        self.subject = subject
        self.reason = reason
    }

    public var description: String { "\(subject): \(reason)" }

    /// Runs `body`, naming `subject` in whatever it throws (unless the message names it already).
    static func naming<R>(_ subject: String, _ body: () throws -> R) throws(TrainingSetupError) -> R {
        do { return try body() } catch let error as TrainingSetupError { throw error } catch {
            let message = String(describing: error)
            throw message.hasPrefix(subject) ? TrainingSetupError(subject, String(message.dropFirst(subject.count)).trimmingPrefix(": "))
                : TrainingSetupError(subject, message)
        }
    }
}

extension String {
    fileprivate func trimmingPrefix(_ prefix: String) -> String { hasPrefix(prefix) ? String(dropFirst(prefix.count)) : self }
}

/// How a run loads a network's weights from a file: the standard reader (`ModelWeights`, for
/// `.pth` and `.safetensors`), or one of your own (the tool passes one that applies its
/// `--max-memory` budget and explains key mismatches).
public struct WeightsLoader: Sendable {
    /// Loads the file at the URL into the network; the string names the network in errors
    /// (`network_g`, `network_teacher`).
    public var load: @Sendable (URL, any RestorationModel, String) throws -> Void

    public init(_ load: @escaping @Sendable (URL, any RestorationModel, String) throws -> Void) {
        self.load = load
    }

    /// `ModelWeights/read(from:)` then `loadStateDictionary`, errors naming the file.
    public static let standard = WeightsLoader { url, model, network in
        try TrainingSetupError.naming(url.path) {
            do { try model.loadStateDictionary(try ModelWeights.read(from: url)) } catch let error as StateDictionaryError {
                throw TrainingSetupError(url.path, "does not fit \(network): \(error)")
            }
        }
    }
}

extension DistillationConfiguration {
    /// The objective this configuration trains `student` with: supervised on the ground truth for
    /// ``Method/studentAlone`` (with no added terms), a ``DistillationObjective`` otherwise. The one
    /// place that makes this choice, for options files, the demo and Swift code alike.
    ///
    /// - Parameters:
    ///   - student: the network trained.
    ///   - teacherA: teacher A (needed by every term that reads a teacher or the SCM).
    ///   - teacherB: a separate teacher B (nil: teacher A's weights).
    ///   - extraTerms: loss terms of your own, summed after the configuration's (``DistillationTerm``).
    ///   - generator: initialises the scale conversion module when the method has one.
    /// - Throws: ``TrainingSetupError`` when a term reads what these networks cannot give: a
    ///   teacher pass when no teacher is given, taps a network does not declare, student and teacher
    ///   taps that do not pair up for the SCM.
    public func objective(student: any RestorationModel, teacherA: (any RestorationModel)?,
                          teacherB: (any RestorationModel)? = nil, adding extraTerms: [any DistillationTerm] = [],
                          using generator: inout RandomGenerator) throws(TrainingSetupError) -> any TrainingObjective {
        if method == .dfkd || method == .dckd {
            guard let teacherA else {
                throw TrainingSetupError("distill.method", "'\(method.reportName)' needs a teacher ('network_teacher')")
            }
            switch method {
            case .dfkd:
                let side = dfkdSettings.imageSize
                for (name, network) in [("network_g", student), ("network_teacher", teacherA)] where side % network.sizeMultiple != 0 {
                    throw TrainingSetupError("distill.dfkd_image_size", "\(side) is not a multiple of \(network.sizeMultiple), "
                        + "which \(name) needs")
                }
                return DFKDObjective(student: student, teacher: teacherA, settings: dfkdSettings, using: &generator)
            case .dckd:
                guard student.encoderTaps.count == teacherA.encoderTaps.count, student.decoderTaps.count == teacherA.decoderTaps.count else {
                    throw TrainingSetupError("network_teacher", "its \(teacherA.encoderTaps.count) encoder and \(teacherA.decoderTaps.count) "
                        + "decoder feature taps do not pair with the student's \(student.encoderTaps.count) and "
                        + "\(student.decoderTaps.count) ('dckd' matches them by index)")
                }
                guard dckdSettings.encoderCut || dckdSettings.decoderCut else {
                    throw TrainingSetupError("distill.dckd_encoder_cut", "DCKD needs at least one cut (dckd_encoder_cut or dckd_decoder_cut)")
                }
                if dckdSettings.decoderCut && student.decoderTaps.count < 2 {
                    throw TrainingSetupError("distill.dckd_decoder_cut", "the student has fewer than two decoder taps")
                }
                return DCKDObjective(student: student, teacher: teacherA, settings: dckdSettings, pixelWeight: pixelWeight,
                                     pixelLoss: pixelLoss, using: &generator)
            default:
                break
            }
        }
        if method == .studentAlone && extraTerms.isEmpty { return SupervisedObjective(model: student, pixelLoss: pixelLoss) }
        let criterion = SLKDLoss(self, adding: extraTerms)
        if let teacherA, usesSCM || criterion.requirements.contains(.scm) {
            for teacher in [teacherA] + (teacherB.map { [$0] } ?? []) {
                guard student.encoderTaps.count == teacher.encoderTaps.count, student.decoderTaps.count == teacher.decoderTaps.count else {
                    throw TrainingSetupError("network_teacher", "its \(teacher.encoderTaps.count) encoder and \(teacher.decoderTaps.count) "
                        + "decoder feature taps do not pair with the student's \(student.encoderTaps.count) and "
                        + "\(student.decoderTaps.count) ('\(method.reportName)' matches them by index)")
                }
            }
        }
        do throws(DistillationSetupError) {
            try DistillationRequirement.validate(terms: criterion.terms, student: student, teacherA: teacherA, teacherB: teacherB)
        } catch {
            if teacherA == nil {
                throw TrainingSetupError("distill.method", "'\(method.reportName)' needs a teacher ('network_teacher'): \(error)")
            }
            throw TrainingSetupError("distill.method", "'\(method.reportName)': \(error)")
        }
        guard let teacherA else {
            throw TrainingSetupError("distill.method", "'\(method.reportName)' trains through a DistillationObjective, which needs a teacher ('network_teacher')")
        }
        return DistillationObjective(student: student, teachers: TeacherRunner(teacherA: teacherA, teacherB: teacherB),
                                     criterion: criterion, scm: nil, using: &generator)
    }
}
