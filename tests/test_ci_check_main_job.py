""".ci/check_main_job.py, which fails CI when the main job's final_metrics.json misses the README's gain,
run as `.ci/run` runs it on hand-made metrics (a real run's file: tests/training/test_train_learns.py)."""

import json
import subprocess
import sys

import pytest

from tests.conftest import REPO

CHECKER = REPO / ".ci" / "check_main_job.py"
# What the README reports for the main job: +0.53 dB, worst image -0.08 dB.
README_RUN = {"step": 2700, "input_psnr": 29.40, "model_psnr": 29.93, "gain": 0.53, "worst_gain": -0.08}


def check(cwd, *args):
  return subprocess.run(
    [sys.executable, str(CHECKER), *map(str, args)], cwd=cwd, capture_output=True, text=True, timeout=60, check=False
  )


def write(path, metrics):
  path.parent.mkdir(parents=True, exist_ok=True)
  path.write_text(json.dumps(metrics) if isinstance(metrics, dict) else metrics)
  return path


def test_the_readme_run_passes_by_absolute_relative_and_default_path(tmp_path):
  path = write(tmp_path / "runs" / "synthetic" / "final_metrics.json", README_RUN | {"worst_image": "v3"})
  for args in ((path,), ("runs/synthetic/final_metrics.json",), ()):
    result = check(tmp_path, *args)
    assert result.returncode == 0, result.stderr
    assert "+0.53 dB over the blurred input" in result.stdout and "worst image -0.08 dB" in result.stdout


@pytest.mark.parametrize(
  ("change", "message"),
  [
    (
      {"gain": 0.29},
      "gain = +0.290 dB: the model's mean validation PSNR gain over the blurred input must be at least +0.30 dB",
    ),
    ({"gain": 0.0}, "gain = +0.000 dB"),
    ({"gain": -1.2}, "gain = -1.200 dB"),
    (
      {"worst_gain": -0.21},
      "worst_gain = -0.210 dB: the worst validation image's PSNR gain over its input must be at least -0.20 dB",
    ),
    ({"gain": None}, "gain is None, not a number"),
    ({"worst_gain": "-0.08"}, "worst_gain is '-0.08', not a number"),
    ({"gain": float("nan")}, "gain is nan, not a number"),
  ],
)
def test_a_missing_gain_fails_and_says_which_figure_missed(tmp_path, change, message):
  write(tmp_path / "final_metrics.json", README_RUN | change)
  result = check(tmp_path, "final_metrics.json")
  assert result.returncode == 1
  assert message in result.stderr
  assert result.stdout == ""


def test_both_figures_missing_are_both_told(tmp_path):
  metrics = {key: value for key, value in README_RUN.items() if key not in ("gain", "worst_gain")}
  result = check(tmp_path, write(tmp_path / "final_metrics.json", metrics))
  assert result.returncode == 1
  assert "gain is None" in result.stderr and "worst_gain is None" in result.stderr


@pytest.mark.parametrize(
  ("content", "message"),
  [
    (None, "cannot read the main job's metrics"),
    ("{", "cannot read"),
    ("NaN", "holds no JSON object"),
    ("[]", "holds no JSON object"),
  ],
)
def test_no_run_or_a_broken_file_fails(tmp_path, content, message):
  if content is not None:
    write(tmp_path / "runs" / "synthetic" / "final_metrics.json", content)
  result = check(tmp_path)
  assert result.returncode == 1
  assert message in result.stderr and "runs/synthetic/final_metrics.json" in result.stderr


def test_ci_runs_the_check_after_the_readme_block():
  # .ci/run's order: the README block (the main job), this check, then ruff.
  script = (REPO / ".ci" / "run").read_text()
  block = script.index('for line in "${setup[@]}"')
  call = script.index('run_as_typed "python .ci/check_main_job.py runs/synthetic/final_metrics.json"')
  assert block < call < script.index("ruff check")
