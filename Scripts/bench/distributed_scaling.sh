#!/usr/bin/env bash
# Images per second of one SLKD distillation (Res-SL student, Restormer teacher with random
# weights, batch 4 global, patch 64) on this machine: 1 process × 1 thread, 1 process × 2 threads,
# and mpirun -np 2 with 1 thread each; plus the all-reduce's share of a step. Run on a quiet
# machine: the load average is printed before and after.
#
#   bash Scripts/bench/distributed_scaling.sh [STEPS]      (default 8; the first 2 are warm-up)
set -euo pipefail
cd "$(dirname "$0")/../.."
steps=${1:-8}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
swift build -c release --product slkd >/dev/null
slkd=$PWD/.build/release/slkd
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"

# Eight sample images as clean targets, and as inputs the bundled demo teacher's restorations of
# them (images of the same size that differ from the targets, so that teacher B on the clean image
# and teacher A on the input are two forwards, as in a real run).
mkdir -p "$work/data/input" "$work/data/target"
i=0
for image in Sources/SLKDDistill/Resources/SampleImages/*.png; do
    [ $i -lt 8 ] || break
    cp "$image" "$work/data/target/$i.png"
    i=$((i + 1))
done
"$slkd" restore --arch demo-teacher "$work/data/target" --output "$work/data/input" >/dev/null

network() {
    cat <<YAML
  type: Restormer
  dim: $1
  num_blocks: $2
  num_refinement_blocks: $3
  heads: [1, 2, 4, 8]
  ffn_expansion_factor: 2.66
  bias: false
  LayerNorm_type: $4
YAML
}
options() {  # name batch total_iter extra
    cat <<YAML
name: $1
manual_seed: 0
network_g:
$(network 24 "[2, 3, 3, 4]" 2 WithBias)
datasets:
  train:
    name: scaling
    dataroot_lq: $work/data/input
    dataroot_gt: $work/data/target
    gt_size: 64
    batch_size_per_gpu: $2
    geometric_augs: true
train:
  total_iter: $3
  optim_g: {type: AdamW, lr: !!float 3e-4, weight_decay: !!float 1e-4, betas: [0.9, 0.999]}
  scheduler: {type: CosineAnnealingRestartCyclicLR, periods: [1000], restart_weights: [1], eta_mins: [0.000001]}
logger:
  print_freq: 1
  save_checkpoint_freq: 100000
path:
  experiments_root: $work/$1
$4
YAML
}
# The teacher: Restormer at its published size, random weights written by one supervised step.
{ options teacher 1 1 ""; } | sed "s/dim: 24/dim: 48/; s/num_blocks: \[2, 3, 3, 4\]/num_blocks: [4, 6, 6, 8]/; s/num_refinement_blocks: 2/num_refinement_blocks: 4/" > "$work/teacher.yml"
"$slkd" train --options "$work/teacher.yml" >/dev/null
teacher="$work/teacher/models/net_g_latest.safetensors"
distill_extra="network_teacher:
$(network 48 "[4, 6, 6, 8]" 4 WithBias)
distill:
  method: slkd"
run() {  # label processes threads batch-per-process
    local name=$1 processes=$2 threads=$3 batch=$4
    options "$name" "$batch" "$steps" "$distill_extra" > "$work/$name.yml"
    sed -i "s|experiments_root: $work/$name|experiments_root: $work/$name\n  pretrain_network_teacher: $teacher|" "$work/$name.yml"
    if [ "$processes" -eq 1 ]; then
        "$slkd" distill --options "$work/$name.yml" --threads "$threads" >/dev/null
    else
        mpirun -np "$processes" --oversubscribe --bind-to none "$slkd" distill --options "$work/$name.yml" --threads "$threads" --launcher mpi >/dev/null
    fi
    python3 - "$work/$name/metrics.jsonl" "$name" "$processes" "$threads" "$((batch * processes))" <<'PY'
import json, sys
rows = [json.loads(line) for line in open(sys.argv[1])][2:]
seconds = sum(r["metrics"]["seconds"] for r in rows) / len(rows)
comm = [r["metrics"].get("communication_seconds") for r in rows]
share = f"{100 * sum(comm) / len(comm) / seconds:.1f} %" if comm[0] is not None else "—"
images = int(sys.argv[5])
print(f"| {sys.argv[2]} | {sys.argv[3]} | {sys.argv[4]} | {images} | {seconds:.2f} | {images / seconds:.2f} | {share} |")
PY
}
echo "| run | processes | threads each | global batch | s a step | images/s | all-reduce share |"
echo "|---|---:|---:|---:|---:|---:|---:|"
run one-thread 1 1 4
run two-threads 1 2 4
run two-processes 2 1 2
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
