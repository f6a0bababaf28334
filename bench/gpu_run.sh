#!/usr/bin/env bash
# Issue 32: everything the GPU session measures, in order, each step's output under $OUT.
# Budget: <= 8 minutes on an H100 (each step has its own timeout; a step that runs out leaves
# what it wrote and the script goes on to the next).
#
#   OUT=/tmp/out bench/gpu_run.sh              # on the device machine (the device tool sets $OUT)
#   OUT=/tmp/out bench/gpu_run.sh --cpu-smoke  # tiny sizes on the CPU: checks that every step runs
#
# Steps (issue 32's order):
#   1. gpu_check.py   eager vs graph vs compile agreement, kill-and-resume in graph mode (JSON)
#   2. gpu_train.py   solo ms/epoch per step mode against the TransformerLens loop; stacked E=8,64,256
#   3. gpu_analyze.py checkpoints/s for analyze --analyzers all
#   4. checkpoint writes: the same solo run with and without the family's checkpoint schedule
# Not in this script: the 16-seed 25,000-epoch run (step 6), left for a second call if minutes remain.
set -u
OUT=${OUT:?set OUT to a folder}
SMOKE=""
[ "${1:-}" = "--cpu-smoke" ] && SMOKE="--cpu-smoke"
mkdir -p "$OUT"
cd "$(dirname "$0")/.."
PY=${PYTHON:-python}
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH}
run() {  # run NAME SECONDS CMD...: stdout+stderr to $OUT/NAME.txt, exit status and seconds to $OUT/steps.tsv
  local name=$1 limit=$2; shift 2
  local t0=$(date +%s)
  timeout "$limit" "$@" > "$OUT/$name.txt" 2>&1
  local rc=$?
  printf '%s\t%s\t%s\n' "$name" "$rc" "$(( $(date +%s) - t0 ))" >> "$OUT/steps.tsv"
}
{ nvidia-smi 2>/dev/null || echo "no nvidia-smi"; $PY -c "import torch; print(torch.__version__, torch.cuda.is_available())"; } > "$OUT/device.txt" 2>&1
run check 150 $PY bench/gpu_check.py --out "$OUT/gpu_check.json" $SMOKE
run train 200 $PY bench/gpu_train.py --epochs 2000 $SMOKE
run analyze 90 $PY bench/gpu_analyze.py $SMOKE
if [ -z "$SMOKE" ]; then
  for sched in default none; do
    extra=(); [ "$sched" = none ] && extra=(--schedule 0,2000)
    run "writes_$sched" 45 $PY -m workbench train modular_addition --epochs 2000 --device cuda --step-mode auto \
      --store "$(mktemp -d)" --log-format plain "${extra[@]}"
  done
fi
cat "$OUT/steps.tsv"
