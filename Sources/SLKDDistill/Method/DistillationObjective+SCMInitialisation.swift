import SLKDTensor

extension DistillationObjective {
    /// Fits the SCM's student projections by least squares to the teacher taps the loss pairs
    /// them with: encoder taps with teacher A's (L_nc, and FitNets' decoder taps too), decoder
    /// taps with teacher B's (L_et).
    ///
    /// ``loss(for:generator:)`` calls it on the batch with id 0 only, the first of a run, when
    /// `configuration.scmInitialisation` is `.leastSquares`: a resumed run restores the fitted
    /// weights from its checkpoint instead of fitting again. Features that are not finite
    /// leave the random start in place; the loss then reports them.
    func fitSCM(_ scm: ScaleConversionModule, to f: DistillationForward) {
        let c = configuration
        switch c.method {
        case .fitNets:
            _ = try? scm.initialiseByLeastSquares(student: f.studentEncoder + f.studentDecoder,
                                                  teacher: f.teacherAEncoder + f.teacherADecoder)
        case .slkd:
            if c.computesNC { _ = try? scm.initialiseByLeastSquares(student: f.studentEncoder, teacher: f.teacherAEncoder) }
            if c.computesET {
                _ = try? scm.initialiseByLeastSquares(student: f.studentDecoder, teacher: f.teacherBDecoder,
                                                      offset: scm.decoderTapOffset)
            }
        case .studentAlone, .outputKD, .dfkd, .dckd:
            break  // no SCM in the loss
        }
    }
}
