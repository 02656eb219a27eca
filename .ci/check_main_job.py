"""Fails CI when the main job's model does not gain what the README promises over its blurred input.

  python .ci/check_main_job.py [runs/synthetic/final_metrics.json]

`.ci/run` calls it after the README's set-up block (which runs the main job). It reads the
validation figures the job writes (ifan_jax/training/loop.py, `finish`) and exits 1, saying which
figure missed and by how much, when the mean gain or the worst image falls below the bars. Plain
Python: it imports nothing of the project.
"""

import json
import math
import pathlib
import sys

DEFAULT_PATH = pathlib.Path("runs/synthetic/final_metrics.json")
# The README reports +0.53 dB (29.40 -> 29.93 dB over the 20 validation images); docs/training.md's
# runs of configs/synthetic.py measured +0.51 to +0.53. The bar leaves 0.2 dB for machine noise.
MIN_GAIN_DB = 0.3
# The README reports no image more than 0.08 dB worse than its input; docs/training.md's runs measured
# -0.00 to -0.10 dB for the worst validation image (its own noise across seeds is about 0.1 dB).
MIN_WORST_GAIN_DB = -0.2


def problems(metrics: dict) -> list[str]:
  """What in `metrics` (a parsed final_metrics.json) falls short of the bars, in words; empty if nothing."""
  found = []
  for key, bar, what in (
    ("gain", MIN_GAIN_DB, "the model's mean validation PSNR gain over the blurred input"),
    ("worst_gain", MIN_WORST_GAIN_DB, "the worst validation image's PSNR gain over its input"),
  ):
    value = metrics.get(key)
    if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
      found.append(f"{key} is {value!r}, not a number: {what} must be at least {bar:+.2f} dB")
    elif value < bar:
      found.append(f"{key} = {value:+.3f} dB: {what} must be at least {bar:+.2f} dB")
  return found


def main(argv: list[str]) -> int:
  if len(argv) > 2:
    print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
    return 2
  path = pathlib.Path(argv[1]) if len(argv) == 2 else DEFAULT_PATH
  try:
    metrics = json.loads(path.read_text())
  except (OSError, ValueError) as error:
    print(f"check_main_job: cannot read the main job's metrics {path}: {error}", file=sys.stderr)
    return 1
  if not isinstance(metrics, dict):
    print(f"check_main_job: {path} holds no JSON object", file=sys.stderr)
    return 1
  found = problems(metrics)
  for problem in found:
    print(f"check_main_job: {path}: {problem}", file=sys.stderr)
  if found:
    return 1
  print(
    f"check_main_job: {path}: the model gains {metrics['gain']:+.2f} dB over the blurred input "
    f"(at least {MIN_GAIN_DB:+.2f}), worst image {metrics['worst_gain']:+.2f} dB (at least {MIN_WORST_GAIN_DB:+.2f})"
  )
  return 0


if __name__ == "__main__":
  sys.exit(main(sys.argv))
