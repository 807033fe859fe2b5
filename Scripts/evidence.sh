#!/usr/bin/env bash
# The evidence runs of issue 6: `slkd demo` (same teacher, same budget per method) over three
# seeds, then one table of mean ± spread per method on the held-out images. Besides the two
# baselines and SLKD as the SPEC defines it, two of the SPEC's switches run: the pixel term on
# the ground truth, and teacher B on the degraded input (Table IV row 1).
#   bash Scripts/evidence.sh [OUTPUT_DIR] [extra slkd demo flags...]
set -euo pipefail
cd "$(dirname "$0")/.."
source Scripts/ensure-dependencies.sh
out="${1:-evidence}"
shift || true
swift build -c release --product slkd
for seed in 0 1 2; do
  .build/release/slkd demo --seed "$seed" --output "$out/seed$seed" \
    --methods student_alone,output_kd,slkd,slkd_gt_pixel,slkd_b_degraded "$@"
done
python3 Scripts/evidence_table.py "$out"/seed*/metrics.json | tee "$out/evidence.md"
