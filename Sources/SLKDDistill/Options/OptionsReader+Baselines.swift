extension OptionsReader {
    /// The `distill.dfkd_*` and `distill.dckd_*` keys (Docs/Method.md#dfkd, #dckd) over `c`'s
    /// settings; each is range-checked like the other `distill` keys.
    func readBaselines(_ section: [String: Any], into c: inout DistillationConfiguration) throws(OptionsError) {
        func number(_ name: String, in range: ClosedRange<Double> = OptionsLimits.lossWeight) throws(OptionsError) -> Double? {
            try double(section, name, key: "distill.\(name)", in: range)
        }
        func integer(_ name: String, in range: ClosedRange<Int>) throws(OptionsError) -> Int? {
            try int(section, name, key: "distill.\(name)", in: range)
        }
        var f = c.dfkdSettings
        if let v = try number("dfkd_adversarial_weight") { f.adversarialWeight = v }
        if let v = try number("dfkd_reconstruction_weight") { f.reconstructionWeight = v }
        if let v = try number("dfkd_real_data_weight") { f.realDataWeight = v }
        if let v = try number("dfkd_max_noise", in: OptionsLimits.noiseLevel) { f.maxNoise = v }
        if let v = try integer("dfkd_generator_interval", in: OptionsLimits.generatorInterval) { f.generatorInterval = v }
        if let v = try integer("dfkd_latent_size", in: OptionsLimits.generatorSize) { f.latentSize = v }
        if let v = try integer("dfkd_generator_width", in: OptionsLimits.generatorSize) {
            guard v >= 2 else { throw OptionsError(file: file, "'distill.dfkd_generator_width' is \(v); it must be at least 2") }
            f.generatorWidth = v
        }
        if let v = try integer("dfkd_image_size", in: OptionsLimits.generatedImageSide) {
            guard v % 4 == 0 else { throw OptionsError(file: file, "'distill.dfkd_image_size' is \(v); it must be a multiple of 4") }
            f.imageSize = v
        }
        if f != DistillationConfiguration.DFKDSettings() || c.dfkd != nil { c.dfkd = f }

        var d = c.dckdSettings
        if let v = try number("dckd_student_to_teacher_weight") { d.studentToTeacherWeight = v }
        if let v = try number("dckd_teacher_to_student_weight") { d.teacherToStudentWeight = v }
        if let s = try string(section, "dckd_target", key: "distill.dckd_target") {
            let options: [String: DistillationConfiguration.DCKDSettings.Target] = ["ground_truth": .groundTruth, "teacher": .teacher]
            guard let v = options[s] else {
                throw OptionsError(file: file, "'distill.dckd_target' is '\(s)'; use one of \(options.keys.sorted().joined(separator: ", "))")
            }
            d.target = v
        }
        if let v = try bool(section, "dckd_encoder_cut", key: "distill.dckd_encoder_cut") { d.encoderCut = v }
        if let v = try bool(section, "dckd_decoder_cut", key: "distill.dckd_decoder_cut") { d.decoderCut = v }
        if !d.encoderCut && !d.decoderCut {
            throw OptionsError(file: file, "'distill.dckd_encoder_cut' and 'distill.dckd_decoder_cut' are both false; DCKD needs a cut")
        }
        if d != DistillationConfiguration.DCKDSettings() || c.dckd != nil { c.dckd = d }
    }
}
