"""What a start checks before its first step."""

import pytest

from ifan_jax.training import loop
from tests.training.conftest import tiny_config
from tests.training.fake_data import FakeDatasets


def _snapshot(workdir):
  """Every file of the workdir (checkpoints' included) with its size and modification time."""
  return {str(p.relative_to(workdir)): (p.stat().st_size, p.stat().st_mtime_ns)
          for p in workdir.rglob("*") if p.is_file()}


@pytest.fixture(scope="module")
def two_step_run(tmp_path_factory):
  """A tiny run stopped after 2 of 4 steps (checkpoint at step 2). Tests that use it must leave it unchanged."""
  workdir = tmp_path_factory.mktemp("two_step_run")
  loop.train_and_evaluate(tiny_config(total_steps=2), workdir, datasets=FakeDatasets())
  return workdir


def test_resuming_with_another_model_config_is_refused_before_the_workdir_changes(two_step_run):
  before = _snapshot(two_step_run)
  config = tiny_config()
  config.model.update(channels=8, res_num=2)
  with pytest.raises(ValueError) as failure:
    loop.train_and_evaluate(config, two_step_run, datasets=FakeDatasets())
  assert str(failure.value) == (
      f"Cannot resume from {two_step_run / 'checkpoints' / '2'} with another model config: model.channels=4 in "
      "the checkpoint, 8 now; model.res_num=1 in the checkpoint, 2 now. Use a new --workdir, or the original "
      "values.")
  assert _snapshot(two_step_run) == before


def test_resuming_with_a_training_option_that_changes_the_arrays_is_refused(two_step_run):
  before = _snapshot(two_step_run)
  with pytest.raises(ValueError) as failure:
    loop.train_and_evaluate(tiny_config(use_reblur_loss=False), two_step_run, datasets=FakeDatasets())
  message = str(failure.value)
  assert message.startswith(f"Cannot resume from {two_step_run / 'checkpoints' / '2'}: its arrays differ")
  assert "params only in the checkpoint: reblur/" in message and "opt_state only in the checkpoint: " in message
  assert "(e.g. use_reblur_loss)" in message and "new --workdir" in message
  assert _snapshot(two_step_run) == before
