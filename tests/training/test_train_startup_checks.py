"""What a start checks before its first step, and what a failing validation keeps."""

import shutil

import pytest

from ifan_jax.saved_models import run_dir
from ifan_jax.training import loop
from ifan_jax.training.checkpoints import TrainingCheckpoints
from tests.conftest import immutable
from tests.training.conftest import tiny_config
from tests.training.fake_data import FakeDatasets


def _snapshot(workdir):
  """Every file of the workdir (checkpoints' included) with its size and modification time.

  Leaves out `.lock`, which every start rewrites while it holds the workdir.
  """
  return {
    str(p.relative_to(workdir)): (p.stat().st_size, p.stat().st_mtime_ns)
    for p in workdir.rglob("*")
    if p.is_file() and p.name != run_dir.LOCK_FILE
  }


@pytest.fixture(scope="module")
def two_step_run(tmp_path_factory):
  """A tiny run stopped after 2 of 4 steps (checkpoint at step 2). Tests that use it must leave it unchanged."""
  workdir = tmp_path_factory.mktemp("two_step_run")
  loop.train_and_evaluate(tiny_config(total_steps=2), workdir, datasets=FakeDatasets())
  return workdir


def test_a_misspelt_eval_split_fails_before_the_first_step(tmp_path):
  with pytest.raises(ValueError, match="dataset 'fake' has no split 'valdation'") as failure:
    loop.train_and_evaluate(tiny_config(eval_split="valdation"), tmp_path, datasets=FakeDatasets())
  assert "(Checked before training: config.eval_split='valdation'.)" in failure.value.__notes__
  assert not (tmp_path / "metrics.jsonl").exists() and not (tmp_path / "train_config.json").exists()
  assert not list((tmp_path / "checkpoints").iterdir())


def test_an_unwritable_checkpoint_folder_fails_before_the_first_step(two_step_run):
  before = _snapshot(two_step_run)
  folder = two_step_run / "checkpoints"
  with (
    immutable(folder),
    pytest.raises(OSError, match=f"Cannot write in {folder} .*Operation not permitted.*writable --workdir"),
  ):
    loop.train_and_evaluate(tiny_config(), two_step_run, datasets=FakeDatasets())
  assert _snapshot(two_step_run) == before


def test_a_failing_validation_keeps_the_checkpoint_of_its_step(tmp_path, monkeypatch):
  def broken_validate(*args, **kwargs):
    raise RuntimeError("validation broke")

  workdir = tmp_path / "run"
  with monkeypatch.context() as patch:
    patch.setattr(loop.validation, "validate", broken_validate)
    with pytest.raises(RuntimeError, match="validation broke") as failure:
      loop.train_and_evaluate(tiny_config(), workdir, datasets=FakeDatasets())
    with pytest.raises(RuntimeError, match="validation broke") as early:
      loop.train_and_evaluate(tiny_config(eval_every_steps=1), tmp_path / "early", datasets=FakeDatasets())
  assert failure.value.__notes__ == [
    "Validation at step 2 failed; the latest checkpoint (step 2) is kept and resumes the run."
  ]
  assert early.value.__notes__ == ["Validation at step 1 failed; no checkpoint was saved yet."]
  assert TrainingCheckpoints(workdir, keep=3).latest_step() == 2
  assert loop.train_and_evaluate(tiny_config(), workdir, datasets=FakeDatasets())["step"] == 4


def test_resuming_with_another_model_config_is_refused_before_the_workdir_changes(two_step_run):
  before = _snapshot(two_step_run)
  config = tiny_config()
  config.model.update(channels=8, res_num=2)
  with pytest.raises(ValueError) as failure:
    loop.train_and_evaluate(config, two_step_run, datasets=FakeDatasets())
  assert str(failure.value) == (
    f"Cannot resume from {two_step_run / 'checkpoints' / '2'} with another model config: model.channels=4 in "
    "the checkpoint, 8 now; model.res_num=1 in the checkpoint, 2 now. Use a new --workdir, or the original "
    "values."
  )
  assert _snapshot(two_step_run) == before


def test_resuming_with_a_training_option_that_changes_the_arrays_is_refused(two_step_run):
  before = _snapshot(two_step_run)
  with pytest.raises(ValueError) as failure:
    loop.train_and_evaluate(tiny_config(use_reblur_loss=False), two_step_run, datasets=FakeDatasets())
  message = str(failure.value)
  assert message.startswith(f"Cannot resume from {two_step_run / 'checkpoints' / '2'}: its arrays differ")
  assert "params only in the checkpoint: reblur/" in message and "opt_state only in the checkpoint: " in message
  assert "(e.g. use_reblur_loss, or ema_decay set or not)" in message and "new --workdir" in message
  assert _snapshot(two_step_run) == before


def test_resuming_with_an_average_the_run_did_not_keep_is_refused(two_step_run):
  before = _snapshot(two_step_run)
  with pytest.raises(ValueError, match=r"arrays differ from what this config builds \(ema_params only in this run\)"):
    loop.train_and_evaluate(tiny_config(ema_decay=0.999), two_step_run, datasets=FakeDatasets())
  assert _snapshot(two_step_run) == before


def test_resuming_with_another_way_of_computing_or_another_bit_depth_continues(two_step_run, tmp_path, caplog):
  workdir = tmp_path / "run"
  shutil.copytree(two_step_run, workdir)
  config = tiny_config()
  config.model.update(iac_impl="reference", fuse_filter_head=False, in_bit=16)
  caplog.set_level("INFO")
  assert loop.train_and_evaluate(config, workdir, datasets=FakeDatasets())["step"] == 4
  assert "Resuming with model.iac_impl='reference' (the checkpoint was trained with 'auto')." in caplog.text
  assert "Resuming with model.in_bit=16 (the checkpoint was trained with 8)." in caplog.text
