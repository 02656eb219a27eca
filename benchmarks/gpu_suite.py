r"""Everything GPU in one command: the IAC kernel's correctness and speed, inference, a training step, the goals.

  python -m benchmarks.gpu_suite --out gpu_results --official_repo .official   # on a GPU
  python -m benchmarks.gpu_suite --out /tmp/rehearsal --tiny                   # every part on a CPU

Parts, in order (each in a process of its own, so that peak memory is its own and JAX and PyTorch
never share a GPU's memory): the Pallas kernel against the definition (`iac_check`, in Pallas's
interpreter on a CPU), the golden small checkpoint through our model (`parity`), the IAC's time and
bandwidth (`iac_time`), whole-model inference (`inference`, and `official_inference` with
--official_repo), the training step (`train_float32`, `official_train`, `train_bfloat16`, then with
the Pallas IAC: `train_float32_pallas`, `train_bfloat16_pallas`), and where the time of a 1280x720
inference goes, op by op (`profile`).
Each figure is printed and appended to `OUT/gpu_suite.jsonl` as soon as it is known; after every
part `OUT/gpu_suite.json` and `OUT/gpu_suite.md` (tables and the goals) are rewritten, so a run cut
off by its limit still leaves what it measured. Cases that would start after --budget_s are recorded
as skipped. docs/gpu.md says how to run it on the device machine (benchmarks/device_run.sh).
"""

import dataclasses
import importlib
import pathlib
import subprocess
import sys
import time

from absl import app, flags

from benchmarks.gpu_parts import report
from benchmarks.gpu_parts.recording import RECORDS_FILE, Recorder
from benchmarks.gpu_parts.sizes import FULL, TINY


@dataclasses.dataclass(frozen=True)
class Part:
  name: str
  runner: str  # "module:function" under benchmarks.gpu_parts; function(recorder, sizes, options).
  official: bool = False  # Needs --official_repo.


PARTS = (
  Part("iac_check", "iac:check"),
  Part("parity", "parity:golden_inference"),
  Part("iac_time", "iac:timings"),
  Part("inference", "model:inference"),
  Part("official_inference", "official_code:inference", official=True),
  Part("train_float32", "model:train_float32"),
  Part("official_train", "official_code:train", official=True),
  Part("train_bfloat16", "model:train_bfloat16"),
  Part("train_float32_pallas", "model:train_float32_pallas"),
  Part("train_bfloat16_pallas", "model:train_bfloat16_pallas"),
  Part("profile", "profile:inference"),
)
PART_NAMES = [p.name for p in PARTS]


def define_flags():
  flags.DEFINE_string("out", None, "Folder for gpu_suite.{jsonl,json,md}; created if missing.", required=True)
  flags.DEFINE_bool("tiny", False, "Tiny sizes: rehearse every part on a CPU in about two minutes.")
  flags.DEFINE_string("official_repo", None, "Checkout of the official code (its models/ folder) to time beside ours.")
  flags.DEFINE_float("budget_s", 420.0, "Seconds after which no new case starts; a part still running is stopped.")
  flags.DEFINE_list("parts", PART_NAMES, f"Parts to run, in this order: {', '.join(PART_NAMES)}.")
  flags.DEFINE_float("peak_gbs", None, "Peak memory bandwidth (GB/s); default: benchmarks/costs.py's table.")
  flags.DEFINE_string("part", None, "Internal: run this one part in this process.")
  flags.DEFINE_float("deadline", None, "Internal: epoch seconds after which the part starts no case.")


def run_part(name, out, deadline, options):
  """In the part's own process: look its function up and run it."""
  part = next(p for p in PARTS if p.name == name)
  module, function = part.runner.split(":")
  runner = getattr(importlib.import_module(f"benchmarks.gpu_parts.{module}"), function)
  runner(Recorder(out, name, deadline), TINY if options["tiny"] else FULL, options)


def _child_command(part, out, deadline, argv_flags):
  return [
    sys.executable,
    "-m",
    "benchmarks.gpu_suite",
    f"--part={part}",
    f"--out={out}",
    f"--deadline={deadline}",
    *argv_flags,
  ]


def run_all(out, options, parts):
  """Each part in a child process, within the budget; the report rewritten after each."""
  deadline = time.time() + options["budget_s"]
  shared = [f"--tiny={options['tiny']}"]
  shared += [f"--official_repo={options['official_repo']}"] if options["official_repo"] else []
  shared += [f"--peak_gbs={options['peak_gbs']}"] if options["peak_gbs"] else []
  recorder = Recorder(out, "suite", deadline)
  for part in parts:
    if part.official and not options["official_repo"]:
      recorder.add("skipped", part.name, reason="no --official_repo")
      continue
    if time.time() > deadline:
      recorder.add("skipped", part.name, reason="time budget spent")
      continue
    start = time.time()
    try:
      # A part past the deadline is stopped 30 s later: enough to finish a case it started in time.
      code = subprocess.run(_child_command(part.name, out, deadline, shared), timeout=deadline + 30 - start).returncode
      status = "ok" if code == 0 else f"exit status {code}"
    except subprocess.TimeoutExpired:
      status = "stopped at the time budget"
    recorder.add("part", part.name, seconds=round(time.time() - start, 1), status=status)
    report.write(out)
  return report.write(out)


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
  f = flags.FLAGS
  out = pathlib.Path(f.out).absolute()
  options = dict(tiny=f.tiny, official_repo=f.official_repo, peak_gbs=f.peak_gbs, budget_s=f.budget_s)
  if f.official_repo:
    options["official_repo"] = str(pathlib.Path(f.official_repo).absolute())
    if not (pathlib.Path(options["official_repo"]) / "models" / "archs" / "IFAN.py").is_file():
      raise app.UsageError(
        f"--official_repo {f.official_repo} has no models/archs/IFAN.py (a checkout of the official code)."
      )
  unknown = sorted(set(f.parts) - set(PART_NAMES))
  if unknown:
    raise app.UsageError(f"Unknown --parts {unknown}; the parts are {', '.join(PART_NAMES)}.")
  if f.part:
    run_part(f.part, out, f.deadline, options)
    return
  out.mkdir(parents=True, exist_ok=True)
  (out / RECORDS_FILE).unlink(missing_ok=True)  # One run's figures per folder.
  start = time.time()
  text = run_all(out, options, [p for p in PARTS if p.name in f.parts])
  print(f"\n{text}\nThe suite took {time.time() - start:.0f} s; figures in {out}.")


if __name__ == "__main__":
  define_flags()
  app.run(main)
