import Foundation
import SLKDDistill
import Testing

/// BasicSR options files as `slkd train`/`slkd distill` read them.
@Suite("BasicSR training options")
struct TrainingOptionsTests {
    /// The layout of the official Restormer deraining options (values as published), with the
    /// dataset folders pointing at relative paths.
    static let officialDeraining = """
        # general settings
        name: Deraining_Restormer
        model_type: ImageCleanModel
        scale: 1
        num_gpu: 8
        manual_seed: 100

        datasets:
          train:
            name: TrainSet
            type: Dataset_PairedImage
            dataroot_gt: ./Datasets/train/Rain13K/target
            dataroot_lq: ./Datasets/train/Rain13K/input
            geometric_augs: true
            filename_tmpl: '{}'
            io_backend:
              type: disk
            use_shuffle: true
            num_worker_per_gpu: 8
            batch_size_per_gpu: 8
            mini_batch_sizes: [8,5,4,2,1,1]
            iters: [92000,64000,48000,36000,36000,24000]
            gt_size: 384
            gt_sizes: [128,160,192,256,320,384]
            dataset_enlarge_ratio: 1
            prefetch_mode: ~
          val:
            name: ValSet
            type: Dataset_PairedImage
            dataroot_gt: ./Datasets/test/Rain100H/target
            dataroot_lq: ./Datasets/test/Rain100H/input
            io_backend:
              type: disk

        network_g:
          type: Restormer
          inp_channels: 3
          out_channels: 3
          dim: 48
          num_blocks: [4,6,6,8]
          num_refinement_blocks: 4
          heads: [1,2,4,8]
          ffn_expansion_factor: 2.66
          bias: False
          LayerNorm_type: WithBias
          dual_pixel_task: False

        path:
          pretrain_network_g: ~
          strict_load_g: true
          resume_state: ~

        train:
          total_iter: 300000
          warmup_iter: -1
          use_grad_clip: true
          scheduler:
            type: CosineAnnealingRestartCyclicLR
            periods: [92000, 208000]
            restart_weights: [1,1]
            eta_mins: [0.0003,0.000001]
          mixing_augs:
            mixup: false
            mixup_beta: 1.2
            use_identity: true
          optim_g:
            type: AdamW
            lr: !!float 3e-4
            weight_decay: !!float 1e-4
            betas: [0.9, 0.999]
          pixel_opt:
            type: L1Loss
            loss_weight: 1
            reduction: mean

        val:
          window_size: 8
          val_freq: !!float 4e3
          save_img: false
          rgb2bgr: true
          use_image: true
          max_minibatch: 8
          metrics:
            psnr:
              type: calculate_psnr
              crop_border: 0
              test_y_channel: true

        logger:
          print_freq: 1000
          save_checkpoint_freq: !!float 4e3
          use_tb_logger: true
        """

    @Test func officialDerainingOptionsMapOntoTheTrainer() throws {
        let base = URL(fileURLWithPath: "/data/run")
        let options = try TrainingOptions(yaml: Self.officialDeraining, baseFolder: base)
        #expect(options.name == "Deraining_Restormer")
        #expect(options.seed == 100)
        #expect(options.network["type"] as? String == "Restormer")
        #expect(options.trainData.degradedFolder.path == "/data/run/Datasets/train/Rain13K/input")
        #expect(options.trainData.cleanFolder.path == "/data/run/Datasets/train/Rain13K/target")
        #expect(options.trainData.patchSize == 384 && options.trainData.batchSize == 8)
        #expect(options.trainData.flips && options.trainData.rotations && options.trainData.shuffle)
        #expect(options.validationData?.cleanFolder.path == "/data/run/Datasets/test/Rain100H/target")
        #expect(options.validationData?.patchSize == nil)
        let t = options.trainer
        #expect(t.totalSteps == 300_000 && t.learningRate == 3e-4 && t.weightDecay == 1e-4)
        #expect(t.decoupledWeightDecay == true)
        #expect(t.gradientClipNorm == 0.01)
        #expect(t.restarts == .init(periods: [92000, 208000], restartWeights: [1, 1], minima: [3e-4, 1e-6]))
        #expect(options.validationInterval == 4000 && options.checkpointInterval == 4000 && options.printInterval == 1000)
        #expect(options.pixelLoss == .l1)
        #expect(options.pretrainedWeights == nil && options.resumeState == nil)
        #expect(options.experimentsFolder.path == "/data/run/experiments/Deraining_Restormer")
        // The schedule is BasicSR's: constant 3e-4 through the first period (its floor equals
        // the peak), then a cosine from 3e-4 to 1e-6 over 208000 steps; halfway down, the mean.
        #expect(abs(t.schedule.learningRate(at: 50_000) - 3e-4) < 1e-15)
        #expect(abs(t.schedule.learningRate(at: 92_000 + 104_000) - (3e-4 + 1e-6) / 2) < 1e-12)
    }

    @Test func distillSectionSetsTheMethodAndWeights() throws {
        let yaml = Self.officialDeraining + """

            network_teacher:
              type: Restormer
            distill:
              method: output_kd
              kl_weight: 0.25
              teacher_b_input: degraded
              use_image_reconstruction: false
              scm_init: least_squares
            """
        var text = yaml.replacingOccurrences(of: "pretrain_network_g: ~", with: "pretrain_network_g: ~\n  pretrain_network_teacher: teacher.pth")
        text = text.replacingOccurrences(of: "type: L1Loss", with: "type: CharbonnierLoss")
        let options = try TrainingOptions(yaml: text, baseFolder: URL(fileURLWithPath: "/x"))
        #expect(options.distillation.method == .outputKD)
        #expect(options.distillation.klWeight == 0.25)
        #expect(options.distillation.teacherBInput == .degraded)
        #expect(!options.distillation.useImageReconstruction)
        #expect(options.distillation.scmInitialisation == .leastSquares)
        #expect(options.distillation.pixelLoss == .charbonnier(epsilon: 1e-3))
        #expect(options.teacher?["type"] as? String == "Restormer")
        #expect(options.teacherWeights?.path == "/x/teacher.pth")
    }

    @Test func badValuesNameTheirKey() {
        func message(_ yaml: String) -> String {
            do {
                _ = try TrainingOptions(yaml: yaml, baseFolder: URL(fileURLWithPath: "/x"), file: "opt.yml")
                return "no error"
            } catch { return error.description }
        }
        let base = Self.officialDeraining
        #expect(message(base.replacingOccurrences(of: "total_iter: 300000", with: "total_iter: lots"))
            .contains("'train.total_iter'"))
        #expect(message(base.replacingOccurrences(of: "type: AdamW", with: "type: Lion")).contains("'train.optim_g.type' is 'Lion'"))
        #expect(message(base.replacingOccurrences(of: "dataroot_lq: ./Datasets/train/Rain13K/input", with: ""))
            .contains("'datasets.train.dataroot_lq'"))
        #expect(message(base.replacingOccurrences(of: "type: CosineAnnealingRestartCyclicLR", with: "type: StepLR"))
            .contains("StepLR"))
        #expect(message(base + "\ndistill:\n  lamda: 2\n").contains("'distill.lamda'"))
        #expect(message(base + "\ndistill:\n  method: magic\n").contains("'distill.method' is 'magic'"))
        #expect(message("network_g: [").hasPrefix("opt.yml: not valid YAML"))
        #expect(message(base).hasPrefix("no error"))
    }
}
