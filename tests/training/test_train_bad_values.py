"""Values that would train a broken model: refused before anything runs, or stopped before they are saved;
what a run writes stays valid JSON, and a resume logs no step twice."""

import json
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ifan_jax import Deblurrer
from ifan_jax.saved_models import run_dir
from ifan_jax.training import averaging, loop, summaries
from ifan_jax.training.checkpoints import TrainingCheckpoints
from tests.conftest import strict_json_loads
from tests.training.conftest import tiny_config
from tests.training.fake_data import FakeDatasets


@pytest.mark.parametrize(
  "field, value, interval",
  [
    ("ema_decay", math.nan, "[0, 1)"),
    ("ema_decay", 1.5, "[0, 1)"),
    ("ema_decay", -0.1, "[0, 1)"),
    ("learning_rate", -1e-4, "[0, inf)"),
    ("grad_clip_norm", math.inf, "(0, inf)"),
    ("reblur_loss_weight", math.nan, "[0, inf)"),
  ],
)
def test_a_float_field_out_of_its_range_is_named_before_anything(tmp_path, field, value, interval):
  with pytest.raises(ValueError) as raised:
    loop.train_and_evaluate(tiny_config(**{field: value}), tmp_path / "run", datasets=FakeDatasets())
  assert str(raised.value) == f"config.{field}={value} must be a number in {interval}."
  assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("dataset", ["fake@0", "fake@-1", "fake@nan", "fake@inf", "fake,fake"])
def test_mixture_weights_are_checked_before_anything(tmp_path, dataset):
  with pytest.raises(ValueError, match=f"dataset '{dataset}'"):
    loop.train_and_evaluate(tiny_config(dataset=dataset), tmp_path / "run", datasets=FakeDatasets())
  assert not (tmp_path / "run").exists()


def test_an_average_that_turns_nan_stops_the_run_before_it_is_saved(tmp_path, monkeypatch):
  """The loss stays finite while the average of the parameters does not: the run stops at the save of
  step 4, the checkpoint of step 2 stays the latest, no final_metrics.json claims success."""
  real_update = averaging.update

  def update(average, params, step, decay):
    poison = jnp.where(step >= 2, jnp.nan, 1.0)
    return jax.tree.map(lambda x: x * poison, real_update(average, params, step, decay))

  monkeypatch.setattr(averaging, "update", update)
  config = tiny_config(ema_decay=0.9, eval_every_steps=100)
  with pytest.raises(
    FloatingPointError, match=r"The parameters' average \(ema_decay\) hold non-finite values at step 4"
  ):
    loop.train_and_evaluate(config, tmp_path, datasets=FakeDatasets())
  assert TrainingCheckpoints(tmp_path, keep=3).latest_step() == 2
  assert not (tmp_path / "final_metrics.json").exists()
  Deblurrer.from_checkpoint(tmp_path)  # The workdir's latest model is finite and loads.


def test_a_model_with_nan_parameters_is_refused_by_every_reader(tmp_path, tiny_model_dir):
  """Deblurring with it would write black images and report success."""
  from ifan_jax.saved_models import model_dir  # pylint: disable=import-outside-toplevel
  from tests.conftest import TINY_CONFIG, xavier_params  # pylint: disable=import-outside-toplevel

  params = xavier_params(TINY_CONFIG)
  leaf = jax.tree.leaves(params)[0]
  leaf.flat[0] = np.nan
  model_dir.save_model(tmp_path / "nan", TINY_CONFIG, params)
  with pytest.raises(
    ValueError, match=r"nan: the model's parameters hold NaN or infinite values .* earlier checkpoint"
  ):
    Deblurrer.from_checkpoint(tmp_path / "nan")


def test_non_finite_metrics_are_written_as_null_with_the_reason(tmp_path):
  writer = summaries.MetricWriter(tmp_path, enabled=True)
  writer.scalars(1, {"eval/psnr": math.nan, "loss/total": 0.25})
  writer.close()
  assert strict_json_loads((tmp_path / run_dir.METRICS_FILE).read_text()) == {
    "step": 1,
    "eval/psnr": None,
    "loss/total": 0.25,
    "non_finite": {"eval/psnr": "nan"},
  }


def test_a_resumed_run_logs_each_step_once(tmp_path):
  """A start that logged steps 3 and 4 past its last checkpoint (step 2) and died: the resumed run
  logs them again, and metrics.jsonl holds each once. final_metrics.json is strict JSON."""

  def crash():
    raise RuntimeError("the machine went away")

  config = tiny_config(total_steps=6, checkpoint_every_steps=2, eval_every_steps=100)
  with pytest.raises(RuntimeError, match="went away"):
    loop.train_and_evaluate(config, tmp_path, datasets=FakeDatasets(call_at_step=(4, crash)))
  logged = [json.loads(line)["step"] for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
  assert logged == [1, 2, 3]
  loop.train_and_evaluate(config, tmp_path, datasets=FakeDatasets())
  rows = [strict_json_loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
  assert [row["step"] for row in rows if "loss/total" in row] == [1, 2, 3, 4, 5, 6]
  assert strict_json_loads((tmp_path / run_dir.FINAL_METRICS_FILE).read_text())["step"] == 6
