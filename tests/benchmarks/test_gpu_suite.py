"""The GPU suite (benchmarks/gpu_suite.py) rehearsed on the CPU, so that it still runs the day a GPU is lent.

The --tiny run is the real thing at tiny sizes: the Pallas kernels in Pallas's interpreter against the
definition, the golden checkpoint through our model, and every timing part.
"""

import json

import numpy as np
import pytest

from benchmarks.gpu_parts import iac, report
from tests.conftest import run_command
from tests.ops import iac_cases

PARTS_RUN_ON_A_CPU = {"iac_check", "parity", "iac_time", "inference", "train_float32", "train_bfloat16", "profile"}


def records_of(out):
  return [json.loads(line) for line in (out / "gpu_suite.jsonl").read_text().splitlines()]


def test_tiny_rehearsal_runs_every_part_with_a_relative_out(tmp_path):
  result = run_command("benchmarks.gpu_suite", ["--tiny", "--out", "suite/out"], cwd=tmp_path, timeout=600)
  assert result.returncode == 0, result.stderr[-3000:]
  out = tmp_path / "suite" / "out"
  records = records_of(out)
  parts = {r["name"]: r["status"] for r in records if r["kind"] == "part"}
  assert {name for name, status in parts.items() if status == "ok"} >= PARTS_RUN_ON_A_CPU, parts
  assert [r["name"] for r in records if r["kind"] == "skipped" and r["part"] == "suite"] == [
    "official_inference",
    "official_train",
  ]
  assert not [r for r in records if r["kind"] == "error"]

  checks = [r for r in records if r["kind"] == "check"]
  kernel_checks = [r for r in checks if r["part"] == "iac_check"]
  assert len(kernel_checks) == len(iac_cases.CASES) + 2  # The odd-size cases and the fused head, compat and not.
  assert all(r["ok"] and r["max_abs_diff"] <= iac_cases.TOL for r in checks), checks
  assert {r["impl"] for r in records if r["part"] == "iac_time" and r["kind"] == "time"} == {"xla", "pallas"}
  inference = {(r["dtype"], r["impl"]): r["kind"] for r in records if r["part"] == "inference" and "impl" in r}
  assert inference == {
    ("float32", "xla"): "time",
    ("bfloat16", "xla"): "time",
    ("float32", "pallas"): "lowered",  # Lowered for CUDA: the compiled kernel needs a GPU.
    ("bfloat16", "pallas"): "lowered",
  }
  steps = [r for r in records if "steps_per_s" in r]
  assert {r["dtype"] for r in steps} == {"float32", "bfloat16"} and all(r["steps_per_s"] > 0 for r in steps)
  assert len([r for r in records if r["kind"] == "profile"]) == 2

  summary = json.loads((out / "gpu_suite.json").read_text())
  assert summary["records"] == records
  page = (out / "gpu_suite.md").read_text()
  for section in ("## Correctness", "## IAC alone", "## Inference", "## Training step", "## Where the time goes"):
    assert section in page


def test_a_spent_budget_skips_every_part_and_still_writes_the_report(tmp_path):
  result = run_command("benchmarks.gpu_suite", ["--tiny", "--out", "out", "--budget_s", "0"], cwd=tmp_path)
  assert result.returncode == 0, result.stderr[-3000:]
  skipped = [r["name"] for r in records_of(tmp_path / "out") if r["kind"] == "skipped"]
  assert "iac_check" in skipped and "train_bfloat16" in skipped
  assert (tmp_path / "out" / "gpu_suite.md").read_text().startswith("# GPU suite")


@pytest.mark.parametrize(
  "args, message",
  [
    (["--official_repo", "no_such_checkout"], "--official_repo no_such_checkout has no models/archs/IFAN.py"),
    (["--parts", "iac_check,warp"], "Unknown --parts ['warp']"),
  ],
)
def test_bad_flags_are_named(tmp_path, args, message):
  result = run_command("benchmarks.gpu_suite", ["--out", "out", *args], cwd=tmp_path)
  assert result.returncode != 0
  assert message in result.stderr


def test_a_wrong_kernel_fails_the_check():
  rng = np.random.default_rng(0)
  expected = tuple(rng.normal(size=(2, 3)).astype(np.float32) for _ in iac_cases.OUTPUTS)
  wrong = (expected[0], expected[1], expected[2] + 2 * iac_cases.TOL)
  figures = iac._compare(iac_cases.OUTPUTS, lambda: (wrong, expected))
  assert not figures["ok"]
  assert figures["max_abs_diff filters grad"] == pytest.approx(2 * iac_cases.TOL, rel=1e-2)  # float32 rounding
  assert iac._compare(iac_cases.OUTPUTS, lambda: (expected, expected))["ok"]


def test_goals_are_judged_on_the_best_implementation():
  def time(part, **figures):
    return dict(part=part, kind="time", name="", **figures)

  records = [
    time("iac_time", shape="1x140x210x128", what="forward", impl="xla", share=0.2, gbs=960.0),
    time("iac_time", shape="1x140x210x128", what="forward", impl="pallas", share=0.75, gbs=3600.0),
    time("inference", size="1280x720", dtype="float32", impl="xla", ms_host=13.0),
    time("inference", size="1280x720", dtype="float32", impl="pallas", ms_host=15.0),
    time("inference", size="1280x720", dtype="bfloat16", impl="xla", ms_host=7.5),
    time("train_float32", who="ifan_jax", dtype="float32", impl="xla", steps_per_s=10.0),
    time("official_train", who="official", dtype="float32", steps_per_s=8.0),
  ]
  goals = {goal: (measured, met) for goal, measured, met in report.goals(records)}
  assert goals == {
    "IAC 1x140x210x128 forward at >= 70% of the bandwidth roofline": ("75% (pallas, 3600 GB/s)", True),
    "1280x720 inference float32 under 14 ms": ("13.00 ms (xla)", True),
    "1280x720 inference bfloat16 under 7 ms": ("7.50 ms (xla)", False),
    "training step float32 at >= 1.3x the official float32": ("1.25x (xla)", False),
  }
