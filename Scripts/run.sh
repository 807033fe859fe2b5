#!/usr/bin/env bash
# The main job: builds SLKD in release mode and runs `slkd demo` on its embedded defaults — the
# bundled sample images with synthetic rain and noise, the bundled small teacher, a student
# trained alone, by output-only distillation and by SLKD — ending in slkd-demo/report.html.
# Extra arguments go to `slkd demo` (e.g. --quick, --output DIR, --seed N).
set -euo pipefail
cd "$(dirname "$0")/.."
source Scripts/ensure-dependencies.sh

swift build -c release --product slkd
.build/release/slkd demo "$@"
