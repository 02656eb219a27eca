"""The training loop end to end on a tiny model and fake data: outputs, resume, SIGTERM, NaN guard."""

import json

import jax
import numpy as np
import orbax.checkpoint as ocp
import pytest

from ifan_jax import Deblurrer, IFANConfig
from ifan_jax.training import loop, validation
from ifan_jax.training.checkpoints import TrainingCheckpoints
from tests.training.conftest import tiny_config
from tests.training.fake_data import FakeDatasets, example


def _params(directory, step):
  manager = ocp.CheckpointManager(directory)
  return manager.restore(step, args=ocp.args.Composite(params=ocp.args.StandardRestore())).params


def _latest_params(workdir):
  step = ocp.CheckpointManager(workdir / "checkpoints").latest_step()
  return step, _params(workdir / "checkpoints", step)


def _assert_trees_equal(a, b):
  jax.tree.map(np.testing.assert_array_equal, a, b)


def test_tiny_run_writes_metrics_checkpoints_and_logs_and_loads_for_inference(tmp_path):
  final = loop.train_and_evaluate(tiny_config(), tmp_path, datasets=FakeDatasets())

  written = json.loads((tmp_path / "final_metrics.json").read_text())
  assert written == pytest.approx(final)
  assert set(written) >= {"step", "input_psnr", "model_psnr", "best_psnr", "num_images"}
  assert written["step"] == 4 and written["num_images"] == 2
  assert np.isfinite(written["model_psnr"]) and written["input_psnr"] > 10
  lines = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
  train_steps = [line["step"] for line in lines if "loss/total" in line]
  assert train_steps == [1, 2, 3, 4]
  assert {
    "loss/deblur",
    "loss/disparity",
    "loss/reblur",
    "train/grad_norm",
    "train/learning_rate",
    "train/steps_per_sec",
    "train/examples_per_sec",
  } <= set(lines[0])
  assert [line["step"] for line in lines if "eval/psnr" in line] == [2, 4]
  assert list((tmp_path / "tensorboard").glob("events.out.tfevents.*"))
  assert sorted(int(p.name) for p in (tmp_path / "checkpoints").iterdir() if p.name.isdigit()) == [2, 4]
  assert json.loads((tmp_path / "train_config.json").read_text())["total_steps"] == 4

  # Deblurrer loads the run's latest checkpoint from the workdir, and the best from best/.
  best_step = int(next((tmp_path / "best").glob("[0-9]*")).name)
  assert written["best_psnr"] == max(line["eval/psnr"] for line in lines if "eval/psnr" in line)
  for path, run_dir, step in (
    (tmp_path, tmp_path / "checkpoints", 4),
    (tmp_path / "best", tmp_path / "best", best_step),
  ):
    deblurrer = Deblurrer.from_checkpoint(path)
    assert deblurrer.config == IFANConfig(channels=4, iterations=2, res_num=1, reblur_iterations=2)
    _assert_trees_equal(deblurrer.variables["params"], _params(run_dir, step)["network"])
    image = example(0, 0, 0, 20)["blurred"][:, :18]
    assert deblurrer(image).shape == (20, 18, 3)


def test_resume_equals_uninterrupted_run(tmp_path):
  loop.train_and_evaluate(tiny_config(), tmp_path / "straight", datasets=FakeDatasets())
  loop.train_and_evaluate(tiny_config(total_steps=2), tmp_path / "resumed", datasets=FakeDatasets())
  loop.train_and_evaluate(tiny_config(), tmp_path / "resumed", datasets=FakeDatasets())

  step_a, straight = _latest_params(tmp_path / "straight")
  step_b, resumed = _latest_params(tmp_path / "resumed")
  assert step_a == step_b == 4
  _assert_trees_equal(straight, resumed)


def test_a_run_that_averages_validates_keeps_and_deblurs_with_the_average_and_resumes_exactly(tmp_path):
  config = tiny_config(ema_decay=0.5)
  final = loop.train_and_evaluate(config, tmp_path / "straight", datasets=FakeDatasets())
  loop.train_and_evaluate(tiny_config(ema_decay=0.5, total_steps=2), tmp_path / "resumed", datasets=FakeDatasets())
  loop.train_and_evaluate(config, tmp_path / "resumed", datasets=FakeDatasets())

  saves = tmp_path / "straight" / "checkpoints"
  items = ocp.args.Composite(params=ocp.args.StandardRestore(), ema_params=ocp.args.StandardRestore())
  straight = ocp.CheckpointManager(saves).restore(4, args=items)
  resumed = ocp.CheckpointManager(tmp_path / "resumed" / "checkpoints").restore(4, args=items)
  _assert_trees_equal(dict(straight), dict(resumed))
  average, params = straight.ema_params["network"], straight.params["network"]
  assert not np.array_equal(average["out_res"]["conv"]["kernel"], params["out_res"]["conv"]["kernel"])
  deblurrer = Deblurrer.from_checkpoint(tmp_path / "straight")
  _assert_trees_equal(deblurrer.variables["params"], average)
  # The printed validation is the average's.
  image = FakeDatasets().eval_iterator(dataset="fake", data_dir=None, split="validation", limit=None)
  scores = validation.validate(average, image, deblurrer.config)[0]
  assert final["model_psnr"] == pytest.approx(scores["psnr"], abs=1e-6)


def test_sigterm_saves_a_checkpoint_that_resumes(tmp_path):
  config = tiny_config(total_steps=6, checkpoint_every_steps=100, eval_every_steps=100)
  assert loop.train_and_evaluate(config, tmp_path, datasets=FakeDatasets(sigterm_at_step=3)) is None
  assert TrainingCheckpoints(tmp_path, keep=3).latest_step() == 3
  assert not (tmp_path / "final_metrics.json").exists()

  final = loop.train_and_evaluate(config, tmp_path, datasets=FakeDatasets())
  assert final["step"] == 6
  straight = tmp_path / "straight"
  loop.train_and_evaluate(config, straight, datasets=FakeDatasets())
  _assert_trees_equal(_latest_params(tmp_path)[1], _latest_params(straight)[1])


def test_nan_loss_stops_and_keeps_the_last_good_checkpoint(tmp_path):
  config = tiny_config(total_steps=6, log_every_steps=100)
  with pytest.raises(FloatingPointError, match=r"loss/total is nan at step 3.*step 2"):
    loop.train_and_evaluate(config, tmp_path, datasets=FakeDatasets(nan_at_step=3))
  step, params = _latest_params(tmp_path)
  assert step == 2
  assert all(np.isfinite(leaf).all() for leaf in jax.tree.leaves(params))


def test_crop_size_not_a_multiple_of_8_names_the_field(tmp_path):
  with pytest.raises(ValueError, match="config.crop_size=30 must be a multiple of 8"):
    loop.train_and_evaluate(tiny_config(crop_size=30), tmp_path, datasets=FakeDatasets())
