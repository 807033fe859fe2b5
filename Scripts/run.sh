#!/usr/bin/env bash
# The main job: builds SLKD in release mode and runs it on its embedded defaults.
set -euo pipefail
cd "$(dirname "$0")/.."
source Scripts/ensure-dependencies.sh

swift build -c release --product slkd-bench
.build/release/slkd-bench --seconds 0.3 "$@"
