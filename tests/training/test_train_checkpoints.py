"""Checkpoints that go wrong: relative paths, a save that fails, damaged saves, a lost pipeline file."""

import contextlib
import json
import logging
import os
import subprocess
import sys
import threading
import types

import jax
import numpy as np
import orbax.checkpoint as ocp
import pytest

from ifan_jax import Deblurrer
from ifan_jax.saved_models import run_dir
from ifan_jax.saved_models.run_dir import CheckpointError
from ifan_jax.training import loop
from ifan_jax.training.checkpoints import PipelineRestore, PipelineStateHandler, TrainingCheckpoints
from tests.conftest import REPO, require_chattr, run_command
from tests.training.conftest import tiny_config
from tests.training.fake_data import FakeDatasets


def _network_params(saves_dir, step):
  with ocp.CheckpointManager(saves_dir) as manager:
    return manager.restore(step, args=ocp.args.Composite(params=ocp.args.StandardRestore())).params["network"]


def _assert_trees_equal(a, b):
  jax.tree.map(np.testing.assert_array_equal, a, b)


def _step_dirs(saves_dir):
  return sorted(int(p.name) for p in saves_dir.iterdir() if p.name.isdigit())


def _train_steps(workdir):
  lines = [json.loads(line) for line in (workdir / "metrics.jsonl").read_text().splitlines()]
  return [line["step"] for line in lines if "loss/total" in line]


def test_relative_workdir_trains_resumes_and_loads(tmp_path, monkeypatch):
  monkeypatch.chdir(tmp_path)
  loop.train_and_evaluate(tiny_config(total_steps=2), "runs/x", datasets=FakeDatasets())
  loop.train_and_evaluate(tiny_config(), "runs/x", datasets=FakeDatasets())  # Resumes at step 2.

  saves_dir = tmp_path / "runs" / "x" / "checkpoints"
  assert _step_dirs(saves_dir) == [2, 4]
  assert _train_steps(tmp_path / "runs" / "x") == [1, 2, 3, 4]
  assert str(run_dir.training_run_dir("runs/x")) == str(saves_dir)
  assert TrainingCheckpoints("runs/x", keep=3).latest_step() == 4
  config, params = run_dir.load_trained_model("runs/x")
  assert config.channels == 4
  _assert_trees_equal(params, _network_params(saves_dir, 4))
  _assert_trees_equal(Deblurrer.from_checkpoint("runs/x").variables["params"], params)
  assert run_dir.load_trained_model("runs/x/best")[0] == config


@contextlib.contextmanager
def immutable_after(path):
  """`chattr +i path` when the returned callable is called; undone on leaving the block (skips the test where
  chattr +i cannot work)."""
  require_chattr(path.parent)
  try:
    yield lambda: subprocess.run(["chattr", "+i", str(path)], check=True)
  finally:
    subprocess.run(["chattr", "-i", str(path)], check=True)


def test_a_failing_save_stops_the_run_at_its_step_and_keeps_the_previous_checkpoint(tmp_path, caplog):
  saves_dir = tmp_path / "checkpoints"
  config = tiny_config(total_steps=6, keep_checkpoints=1, eval_every_steps=100)
  with immutable_after(saves_dir) as freeze, pytest.raises(CheckpointError) as failure:
    # From step 3 on, nothing can be created in checkpoints/: step 4's save fails.
    loop.train_and_evaluate(config, tmp_path, datasets=FakeDatasets(call_at_step=(3, freeze)))

  message = str(failure.value)
  assert f"Saving the checkpoint at step 4 to {saves_dir / '4'} failed" in message
  assert "the checkpoint at step 2 is kept" in message and "\n" not in message
  assert failure.value.__cause__ is None and failure.value.__suppress_context__
  assert _train_steps(tmp_path) == [1, 2, 3, 4]  # Stopped at the failing save, not later.
  assert _step_dirs(saves_dir) == [2]
  with caplog.at_level(logging.INFO):
    final = loop.train_and_evaluate(config, tmp_path, datasets=FakeDatasets())
  assert "Resuming from the checkpoint at step 2." in caplog.text
  assert final["step"] == 6 and _step_dirs(saves_dir) == [6]


@contextlib.contextmanager
def small_disk(path, megabytes):
  """A tmpfs of `megabytes` mounted at `path` for the block; skips the test where mounting is not allowed."""
  path.mkdir()
  try:
    command = ["mount", "-t", "tmpfs", "-o", f"size={megabytes}m", "tmpfs", str(path)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
  except FileNotFoundError:
    pytest.skip("no mount command: this test fills a small tmpfs")
  if done.returncode != 0:
    pytest.skip(f"cannot mount a tmpfs (it needs root, CAP_SYS_ADMIN): {done.stderr.strip()}")
  try:
    yield path
  finally:
    subprocess.run(["umount", str(path)], check=True)


def test_a_full_disk_stops_the_run_in_one_message_without_a_flood_of_reports(tmp_path):
  """tensorstore's writes that finish after orbax gave up used to print dozens of "Event loop is closed"
  tracebacks after the run's own message; the latest checkpoint that fitted is kept.

  A process, as a user meets it: its writes finish at no moment a test could wait for, and in a
  process of their own they cannot report into another test's hook.
  """
  with small_disk(tmp_path / "disk", 5) as disk:
    args = ["--config", os.path.relpath(REPO / "tests/training/tiny_config.py", disk), "--workdir", "run"]
    args += ["--config.total_steps=40", "--config.checkpoint_every_steps=2", "--config.eval_every_steps=100"]
    proc = run_command("tests.training.train_on_fake_data", [*args, "--config.keep_checkpoints=100"], cwd=disk)
    assert proc.returncode == 1, proc.stderr[-3000:]
    message = [line for line in proc.stderr.splitlines() if line.startswith("ifan_jax.train: ")]
    assert len(message) == 1 and "No space left on device" in message[0], proc.stderr[-3000:]
    assert message[0].startswith("ifan_jax.train: Saving the checkpoint at step ")
    assert "Event loop is closed" not in proc.stderr
    # orbax logs each background thread's failure before the save raises it: one line each, no traceback.
    lines = proc.stderr.splitlines()
    threads = [i for i, line in enumerate(lines) if "_SignalingThread.run() raised an exception" in line]
    assert threads and not any(lines[i + 1 : i + 2] == ["Traceback (most recent call last):"] for i in threads)
    kept = TrainingCheckpoints(disk / "run", keep=100).latest_step()
  assert kept is not None and kept >= 2


def _damage_arrays(step_dir):
  """Deletes the data files of a save's parameters (orbax's OCDBT layout: params/ocdbt.process_0/d/)."""
  files = list((step_dir / "params" / "ocdbt.process_0" / "d").iterdir())
  assert files
  for path in files:
    path.unlink()


def _orbax_threads():
  return [t for t in threading.enumerate() if type(t).__module__.startswith("orbax.")]


@pytest.fixture
def unraisable(monkeypatch):
  """What reaches `sys.unraisablehook` (tensorstore's reports into a closed event loop do).

  The background work of an earlier test's failed save (orbax's threads) ends first: its late reports
  would otherwise reach this test's hook. The deadline only bounds a hang.
  """
  for thread in _orbax_threads():
    with contextlib.suppress(Exception):  # orbax's join raises the thread's error: the earlier test's
      thread.join(timeout=120)
  reports = []
  monkeypatch.setattr(sys, "unraisablehook", reports.append)
  return reports


def _assert_quiet(reports):
  """Nothing reached `sys.unraisablehook`, and the hook in place drops the reports that come late.

  tensorstore's operations that finish after orbax gave up report from its own threads, at no moment
  a test can wait for; rather than sleep and hope they came, feed the hook that the failure installed
  one such report (dropped) and another error (passed on to the previous hook).
  """
  assert [str(report.exc_value) for report in reports] == []
  late, other = (types.SimpleNamespace(exc_value=RuntimeError(m)) for m in ("Event loop is closed", "a real one"))
  sys.unraisablehook(late)
  sys.unraisablehook(other)
  assert reports == [other]
  reports.clear()


def test_a_damaged_latest_checkpoint_falls_back_to_the_newest_readable_one_quietly(tmp_path, caplog, unraisable):
  loop.train_and_evaluate(tiny_config(), tmp_path, datasets=FakeDatasets())
  saves_dir = tmp_path / "checkpoints"
  good = _network_params(saves_dir, 2)
  _damage_arrays(saves_dir / "4")

  with caplog.at_level(logging.WARNING):
    _, params = run_dir.load_trained_model(tmp_path)
  _assert_trees_equal(params, good)
  assert f"The checkpoint at step 4 ({saves_dir / '4'}) cannot be read: ValueError:" in caplog.text
  assert "tensorstore_spec" not in caplog.text
  _assert_quiet(unraisable)

  caplog.clear()
  with caplog.at_level(logging.INFO):
    final = loop.train_and_evaluate(tiny_config(), tmp_path, datasets=FakeDatasets())
  assert "The checkpoint at step 4" in caplog.text and "Resuming from the checkpoint at step 2." in caplog.text
  assert final["step"] == 4 and _step_dirs(saves_dir) == [2, 4]  # Step 4 trained and saved again.
  assert [p.name.split("-")[0] for p in saves_dir.glob("4.damaged-*")] == ["4.damaged"]
  _assert_quiet(unraisable)


def test_no_readable_checkpoint_is_one_clear_error(tmp_path, unraisable):
  loop.train_and_evaluate(tiny_config(), tmp_path, datasets=FakeDatasets())
  saves_dir = tmp_path / "checkpoints"
  _damage_arrays(saves_dir / "4")
  (saves_dir / "2" / "pipeline" / "process_0.json").unlink()
  metrics_before = (tmp_path / "metrics.jsonl").read_text()

  with pytest.raises(CheckpointError) as failure:
    loop.train_and_evaluate(tiny_config(total_steps=6), tmp_path, datasets=FakeDatasets())
  message = str(failure.value)
  assert message.startswith(f"No checkpoint in {saves_dir} can be read: step 4: ValueError: ")
  assert (
    f"; step 2: FileNotFoundError: No input-pipeline state for process 0: "
    f"{saves_dir / '2' / 'pipeline' / 'process_0.json'} is missing"
  ) in message
  assert "new --workdir" in message and "tensorstore_spec" not in message
  assert (tmp_path / "metrics.jsonl").read_text() == metrics_before
  assert _step_dirs(saves_dir) == [2, 4]  # Nothing moved when nothing could be restored.
  _assert_quiet(unraisable)


def _pipeline_dir(tmp_path, *processes):
  directory = tmp_path / "pipeline"
  directory.mkdir()
  (directory / "commit_success.txt").write_text("")
  for index in processes:
    (directory / f"process_{index}.json").write_text(json.dumps({"position": 2}))
  return directory


def _restore_as(monkeypatch, directory, index, count, saved_count=None):
  """The error of process `index` of `count` restoring `directory`, saved by `saved_count` processes."""
  monkeypatch.setattr(jax, "process_index", lambda: index)
  monkeypatch.setattr(jax, "process_count", lambda: count)
  with pytest.raises(FileNotFoundError) as failure:
    PipelineStateHandler().restore(directory, PipelineRestore(saved_count))
  return str(failure.value)


def test_a_lost_pipeline_file_is_called_missing_not_another_process_count(tmp_path, monkeypatch):
  directory = _pipeline_dir(tmp_path, 0)
  # Process 1's file lost in a two-process checkpoint resumed by two processes.
  assert _restore_as(monkeypatch, directory, 1, 2, saved_count=2) == (
    f"No input-pipeline state for process 1: {directory / 'process_1.json'} is missing (the folder holds "
    "process_0.json): the file was lost."
  )
  (directory / "process_0.json").unlink()
  for saved_count in (1, None):  # None: a checkpoint from before meta recorded the count.
    message = _restore_as(monkeypatch, directory, 0, 1, saved_count)
    assert message.endswith("is missing (the folder holds no process's file): the file was lost.")


def test_a_pipeline_file_of_another_process_count_says_so(tmp_path, monkeypatch):
  directory = _pipeline_dir(tmp_path, 0)
  for saved_count in (1, None):  # None: the files present stand for the count.
    message = _restore_as(monkeypatch, directory, 1, 2, saved_count)
    assert message.endswith(
      "the checkpoint was written by a run of 1 process and this run has 2: resume it with 1 process."
    )
  assert "run of 4 processes and this run has 2" in _restore_as(monkeypatch, directory, 1, 2, saved_count=4)
