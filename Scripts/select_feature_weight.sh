#!/usr/bin/env bash
# Chooses λ2, the weight of L_nc and L_et, without looking at the test images: `slkd demo
# --validation-images` trains on five of the seven training images and scores on the other two
# (chelsea.png, brick.png), leaving the three test images out entirely. One seed, the baselines
# once, then the SLKD arms (SPEC form, and teacher B on the degraded input) at each weight; the
# table goes to OUTPUT_DIR/selection.md.
#   bash Scripts/select_feature_weight.sh [OUTPUT_DIR] [SEED] [WEIGHTS...]
# (METHODS=slkd ... runs one arm only; Docs/Evidence.md used the default weights, then
# `METHODS=slkd bash Scripts/select_feature_weight.sh selection 0 0.0001 0`.)
set -euo pipefail
cd "$(dirname "$0")/.."
source Scripts/ensure-dependencies.sh
out="${1:-selection}"
seed="${2:-0}"
shift 2 || shift $#
if (($#)); then weights=("$@"); else weights=(0.1 0.01 0.001); fi
methods="${METHODS:-slkd,slkd_b_degraded}"
validation=chelsea.png,brick.png
swift build -c release --product slkd
if [[ ! -f "$out/baselines/metrics.json" ]]; then
  .build/release/slkd demo --seed "$seed" --validation-images "$validation" --methods student_alone,output_kd \
    --output "$out/baselines"
fi
runs="$out/baselines/metrics.json"
for w in "${weights[@]}"; do
  .build/release/slkd demo --seed "$seed" --validation-images "$validation" --methods "$methods" --feature-weight "$w" \
    --output "$out/fw$w"
  runs="$runs,$out/fw$w/metrics.json"
done
for earlier in "$out"/fw*/metrics.json; do  # weights run before, by an earlier call
  [[ ",$runs," == *",$earlier,"* ]] || runs="$runs,$earlier"
done
python3 Scripts/evidence_table.py "$runs" | tee "$out/selection.md"
