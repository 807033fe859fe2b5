#!/usr/bin/env bash
# The pre-registered protocol of Docs/Evidence.md#pre-registered-protocol (issue 17, item 5).
#
#   bash Scripts/evidence.sh tune    every arm × every configuration of Docs/evidence/grid.json on the
#                                    validation split (seed grid.tuning_seed; the test images take no
#                                    part), then writes the choice to Docs/evidence/chosen.json
#   bash Scripts/evidence.sh test    every arm with its chosen configuration on the test images, seeds
#                                    grid.test_seeds; refuses to start unless chosen.json is committed
#   bash Scripts/evidence.sh table   the test table (Scripts/evidence_table.py) → Docs/evidence/results.md
#
# Environment (defaults in brackets):
#   STEPS [600]      student steps per run, the same in both phases (Docs/Evidence.md: why 600)
#   OUT [evidence]   where the demo runs write their reports (not committed)
#   RUNS [Docs/evidence/runs]   where each run's metrics.json is copied (committed)
#   GRID [Docs/evidence/grid.json], CHOSEN [Docs/evidence/chosen.json]
#   ARMS             a comma-separated subset of arms (smoke runs only)
#   SEEDS            test seeds instead of grid.test_seeds (smoke runs only)
#   ALLOW_UNCOMMITTED=1  lets `test` start from an uncommitted chosen.json (smoke runs only)
#   DEMO_FLAGS       extra `slkd demo` flags, e.g. "--threads 2"
#   WORKERS [1]      runs at a time (e.g. 2 with DEMO_FLAGS="--threads 1" on two cores); each run is
#                    claimed by one worker, so none is run twice
# A run whose metrics.json exists is not repeated, so an interrupted phase resumes where it stopped.
# The test phase goes seed by seed (every arm of seed 0, then of seed 1, …), so that a phase
# stopped part-way leaves whole seeds to compare.
set -euo pipefail
cd "$(dirname "$0")/.."
phase="${1:?usage: bash Scripts/evidence.sh tune|test|table}"
steps="${STEPS:-600}"
out="${OUT:-evidence}"
runs="${RUNS:-Docs/evidence/runs}"
grid="${GRID:-Docs/evidence/grid.json}"
chosen="${CHOSEN:-Docs/evidence/chosen.json}"
arms="${ARMS:-}"
read -r -a extra <<< "${DEMO_FLAGS:-}"
field() { python3 -c 'import json,sys; v=json.load(open(sys.argv[1]))[sys.argv[2]]; print(" ".join(map(str,v)) if isinstance(v,list) else v)' "$grid" "$1"; }

build() {
  source Scripts/ensure-dependencies.sh
  swift build -c release --product slkd 2>&1 | tail -3
}

# One `slkd demo` run into $1 (skipped when done or claimed by another worker), its metrics.json
# copied to $2.
demo() {
  local dir="$1" copy="$2"
  shift 2
  if [[ ! -f "$dir/metrics.json" ]]; then
    mkdir -p "$(dirname "$dir")"
    mkdir "$dir.claim" 2> /dev/null || return 0  # another worker has it
    rm -rf "$dir" && mkdir -p "$dir"             # a run interrupted earlier starts afresh
    echo "== $dir: slkd demo $*"
    .build/release/slkd demo --steps "$steps" --output "$dir" ${extra[@]+"${extra[@]}"} "$@" < /dev/null > "$dir.log" 2>&1 \
      || { tail -20 "$dir.log"; exit 1; }
    rmdir "$dir.claim"
  fi
  mkdir -p "$(dirname "$copy")"
  cp "$dir/metrics.json" "$copy"
}

# Runs `$1` (a function running every run of a phase) in WORKERS processes and waits for all;
# claims left by an interrupted earlier phase are cleared first.
in_workers() {
  local phase_out="$out/$2" failed=0 pids=()
  if [[ -d "$phase_out" ]]; then find "$phase_out" -name '*.claim' -type d -prune -exec rm -rf {} +; fi
  for ((w = 0; w < ${WORKERS:-1}; w++)); do "$1" & pids+=($!); done
  for pid in "${pids[@]}"; do wait "$pid" || failed=1; done
  return "$failed"
}

tune_runs() {
  while IFS=$'\t' read -r -a run; do
    arm="${run[0]}" config="${run[1]}"
    demo "$out/tune/$arm/$config" "$runs/tune/$arm/$config.json" \
      --seed "$seed" --validation-images "$validation" "${run[@]:2}"
  done < <(python3 Scripts/evidence_plan.py runs tune "$grid" "$arms")
}

test_runs() {
  for seed in ${seeds//,/ }; do
    while IFS=$'\t' read -r -a run; do
      arm="${run[0]}"
      demo "$out/test/$arm/seed$seed" "$runs/test/$arm/seed$seed.json" --seed "$seed" "${run[@]:2}"
    done < <(python3 Scripts/evidence_plan.py runs test "$chosen" "$arms")
  done
}

case "$phase" in
tune)
  build
  seed="$(field tuning_seed)"
  validation="$(field validation_images)"
  in_workers tune_runs tune
  python3 Scripts/evidence_plan.py choose "$grid" "$out/tune" "$steps" "$chosen" ${arms:+"$arms"} \
    | tee "$out/tune.md"
  echo "chosen: $chosen (commit it before running the test phase)"
  ;;
test)
  if [[ "${ALLOW_UNCOMMITTED:-0}" != 1 ]]; then
    # Pre-registration: the choice must be on record before any test score exists.
    git ls-files --error-unmatch "$chosen" > /dev/null 2>&1 && git diff --quiet HEAD -- "$chosen" \
      || { echo "$chosen is not committed as it is; commit it first" >&2; exit 1; }
  fi
  python3 - "$chosen" "$steps" <<'EOF'
import json, sys
c = json.load(open(sys.argv[1]))
if c["steps"] != int(sys.argv[2]):
    sys.exit(f"{sys.argv[1]} was tuned at {c['steps']} steps; run the test phase with STEPS={c['steps']}")
EOF
  build
  seeds="${SEEDS:-$(field test_seeds)}"
  in_workers test_runs test
  python3 Scripts/evidence_table.py "$runs/test" "$grid" | tee "$out/test.md"
  ;;
table)
  python3 Scripts/evidence_table.py "$runs/test" "$grid" > "${RESULTS:-Docs/evidence/results.md}"
  cat "${RESULTS:-Docs/evidence/results.md}"
  ;;
*)
  echo "usage: bash Scripts/evidence.sh tune|test|table" >&2
  exit 2
  ;;
esac
