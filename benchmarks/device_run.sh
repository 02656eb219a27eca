#!/usr/bin/env bash
# The GPU suite on the device tool's machine, as one command (docs/gpu.md says how and what to carry):
#   device run, carry [".whl", ".official"], command "bash benchmarks/device_run.sh [BUDGET_S] [SUITE FLAGS...]"
# Installs the carried wheels (.whl/: packages the machine's image lacks), records the machine, then runs
# benchmarks/gpu_suite.py with the official code when .official/ is there, everything written to $OUT.
# BUDGET_S (default 400) is when the suite starts no new case; the whole script ends within BUDGET_S + 70 s.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
out=${OUT:-gpu_results}
budget=${1:-400}
shift || true
mkdir -p "$out"
if compgen -G ".whl/*.whl" >/dev/null; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
    || { echo "installing the carried wheels failed" >&2; exit 1; }
  export PYTHONPATH=/tmp/site${PYTHONPATH:+:$PYTHONPATH}
fi
official=()
[ -f .official/models/archs/IFAN.py ] && official=(--official_repo .official)
{
  nvidia-smi
  python3 -m pip list 2>/dev/null | grep -iE '^(jax|jaxlib|jax-cuda|flax|optax|orbax|chex|torch|triton|numpy|dm-pix|ml.collections)'
} >"$out/environment.txt" 2>&1
export PYTHONUNBUFFERED=1
timeout $((budget + 60)) python3 -m benchmarks.gpu_suite --out "$out" --budget_s "$budget" "${official[@]}" "$@" 2>&1 \
  | tee "$out/gpu_suite.log"
