#!/usr/bin/env bash
# The evidence runs of issue 6: `slkd demo` (same teacher, same budget per method) over three
# seeds, then one table of mean ± spread per method on the held-out images.
#   1. The two baselines and SLKD as the SPEC defines it (λ2 = 0.1), with two of the SPEC's
#      switches: the pixel term on the ground truth, teacher B on the degraded input (both
#      feature losses kept: no row of Table IV, Docs/Method.md#table-iv).
#   2. SLKD and SLKD with teacher B on the degraded input at λ2 = FEATURE_WEIGHT (default 0.001,
#      the weight Scripts/select_feature_weight.sh chose on a validation split of the training
#      images, before these runs scored anything on the test images).
#   bash Scripts/evidence.sh [OUTPUT_DIR] [extra slkd demo flags...]
set -euo pipefail
cd "$(dirname "$0")/.."
source Scripts/ensure-dependencies.sh
out="${1:-evidence}"
shift || true
weight="${FEATURE_WEIGHT:-0.001}"
swift build -c release --product slkd
runs=()
for seed in 0 1 2; do
  .build/release/slkd demo --seed "$seed" --output "$out/seed$seed" \
    --methods student_alone,output_kd,slkd,slkd_gt_pixel,slkd_b_degraded "$@"
  .build/release/slkd demo --seed "$seed" --output "$out/seed$seed-fw$weight" \
    --methods slkd,slkd_b_degraded --feature-weight "$weight" "$@"
  runs+=("$out/seed$seed/metrics.json,$out/seed$seed-fw$weight/metrics.json")
done
python3 Scripts/evidence_table.py "${runs[@]}" | tee "$out/evidence.md"
