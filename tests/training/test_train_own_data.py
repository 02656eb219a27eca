"""Training on any data: pairs without views (real pipeline), views needed but missing, and `init_from`."""

import json
import os
import shutil

import jax
import jax.numpy as jnp
import numpy as np
import orbax.checkpoint as ocp
import pytest

from ifan_jax.models import IFANConfig, IFANWithReblur
from ifan_jax.saved_models import any_model, run_dir, torch_weights
from ifan_jax.training import init_from, loop
from tests.conftest import GOLDEN, REPO, run_command
from tests.data.test_data_own_photos import build_pairs, write_pairs
from tests.training.conftest import tiny_config
from tests.training.fake_data import FakeDatasets


def _params(workdir, step=None):
  manager = ocp.CheckpointManager(workdir / "checkpoints")
  step = manager.latest_step() if step is None else step
  return manager.restore(step, args=ocp.args.Composite(params=ocp.args.StandardRestore())).params


def _meta(workdir):
  manager = ocp.CheckpointManager(workdir / "checkpoints")
  return manager.restore(manager.latest_step(), args=ocp.args.Composite(meta=ocp.args.JsonRestore())).meta


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
  """A data_dir with `pairs/plain` (no views) and `pairs/dual` (with views), 32x40 images, and two
  without views with fewer splits: `pairs/traintest` (train and test) and `pairs/trainonly`."""
  tmp = tmp_path_factory.mktemp("photos")
  for name, views in (("plain", False), ("dual", True)):
    build_pairs(write_pairs(tmp / name, views=views, scenes=2), name, tmp / "tfds")
  for name, splits in (("traintest", ("train", "test")), ("trainonly", ("train",))):
    build_pairs(write_pairs(tmp / name, scenes=2, splits=splits), name, tmp / "tfds")
  return str(tmp / "tfds")


def _own(photos, **overrides):
  return tiny_config(data_dir=photos, crop_size=16, num_image_summaries=0, **overrides)


def test_pairs_without_views_train_end_to_end_and_resume_exactly(photos, tmp_path):
  config = dict(dataset="pairs/plain", use_disparity_loss=False)
  final = loop.train_and_evaluate(_own(photos, **config), tmp_path / "straight")
  assert final["step"] == 4 and final["num_images"] == 2 and np.isfinite(final["model_psnr"])
  assert final["validation_split"] == "validation"
  lines = [json.loads(line) for line in (tmp_path / "straight/metrics.jsonl").read_text().splitlines()]
  assert "loss/disparity" not in lines[0] and "loss/reblur" in lines[0]
  loop.train_and_evaluate(_own(photos, **config, total_steps=2), tmp_path / "resumed")
  loop.train_and_evaluate(_own(photos, **config), tmp_path / "resumed")
  jax.tree.map(np.testing.assert_array_equal, _params(tmp_path / "straight"), _params(tmp_path / "resumed"))


def test_pairs_with_views_train_with_the_disparity_loss(photos, tmp_path):
  loop.train_and_evaluate(_own(photos, dataset="pairs/dual", total_steps=2), tmp_path)
  lines = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
  assert np.isfinite(lines[0]["loss/disparity"]) and lines[0]["loss/disparity"] > 0


def test_views_needed_but_missing_fail_before_the_first_step_naming_dataset_and_switch(photos, tmp_path):
  with pytest.raises(ValueError, match=r"'pairs/plain' has no dual-pixel views .*use_disparity_loss=false"):
    loop.train_and_evaluate(_own(photos, dataset="pairs/plain"), tmp_path)
  with pytest.raises(ValueError, match=r"'pairs/plain' has no dual-pixel views .*use_disparity_loss=True"):
    loop.train_and_evaluate(_own(photos, dataset="pairs/dual@1,pairs/plain@1"), tmp_path)
  dual = _own(photos, dataset="pairs/plain", use_disparity_loss=False)
  dual.model.dual_pixel = True
  with pytest.raises(ValueError, match=r"'pairs/plain' has no dual-pixel views .*model.dual_pixel=True"):
    loop.train_and_evaluate(dual, tmp_path)
  assert not list((tmp_path / "checkpoints").iterdir()) and not (tmp_path / "train_config.json").exists()


def _final_metrics(workdir):
  return json.loads((workdir / run_dir.FINAL_METRICS_FILE).read_text())


def test_a_dataset_without_validation_validates_on_test_and_says_so(photos, tmp_path, caplog):
  config = _own(photos, dataset="pairs/traintest", use_disparity_loss=False, total_steps=2)
  final = loop.train_and_evaluate(config, tmp_path)
  assert final["validation_split"] == "test" and final["num_images"] == 2 and np.isfinite(final["model_psnr"])
  assert _final_metrics(tmp_path) == pytest.approx(final)
  assert "Dataset 'pairs/traintest' has no 'validation' split: validating on 'test'." in caplog.text
  assert [p.name for p in (tmp_path / "best").iterdir()] == ["2"]


def test_a_dataset_with_neither_validation_nor_test_trains_without_validation(photos, tmp_path, caplog):
  config = _own(photos, dataset="pairs/trainonly", use_disparity_loss=False, total_steps=2)
  final = loop.train_and_evaluate(config, tmp_path)
  assert final == _final_metrics(tmp_path) == {"step": 2, "validation_split": None}
  assert "Dataset 'pairs/trainonly' has neither of 'validation' nor 'test' (it has train)" in caplog.text
  assert "training without validation" in caplog.text
  rows = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
  assert [row["step"] for row in rows] == [1, 2] and not any(k.startswith("eval/") for row in rows for k in row)
  assert _meta(tmp_path)["step"] == 2 and not list((tmp_path / "best").iterdir())


def test_an_eval_split_the_dataset_lacks_stays_an_error(photos, tmp_path):
  config = _own(photos, dataset="pairs/traintest", use_disparity_loss=False, eval_split="validation")
  with pytest.raises(ValueError, match="dataset 'pairs/traintest' has no split 'validation'; it has train, test."):
    loop.train_and_evaluate(config, tmp_path)
  assert not (tmp_path / "train_config.json").exists()


@pytest.mark.parametrize("relative", [False, True])
def test_the_pairs_config_trains_on_train_and_test_only_from_the_command_line(photos, tmp_path, relative):
  cwd = tmp_path if relative else REPO
  data_dir, workdir = (os.path.relpath(p, cwd) if relative else p for p in (photos, tmp_path / "run"))
  tiny = ["--config.model.channels=4", "--config.model.iterations=2", "--config.model.res_num=1"]
  tiny += ["--config.model.reblur_iterations=2", "--config.crop_size=16", "--config.batch_size=2"]
  tiny += ["--config.total_steps=2", "--config.eval_every_steps=2", "--config.num_image_summaries=0"]
  proc = run_command(
    "ifan_jax.train",
    ["--config", "configs/pairs.py", "--workdir", workdir]
    + ["--config.dataset=pairs/traintest", f"--config.data_dir={data_dir}", *tiny],
    cwd=cwd,
  )
  assert proc.returncode == 0, proc.stderr[-3000:]
  assert "Dataset 'pairs/traintest' has no 'validation' split: validating on 'test'." in proc.stderr
  assert "Validation PSNR after 2 steps (2 images of pairs/traintest test)" in proc.stdout
  assert _final_metrics(tmp_path / "run")["validation_split"] == "test"


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
  """The golden small official checkpoint (filter size 5) converted into a model directory."""
  directory = tmp_path_factory.mktemp("official") / "ifan_small"
  config = torch_weights.convert_file(GOLDEN / "ifan_small.pytorch", directory, filter_size=5)
  return directory, config


def _fresh(config: IFANConfig):
  x = jnp.zeros((1, 8, 8, 3))
  return jax.eval_shape(lambda: IFANWithReblur(config).init(jax.random.key(0), x, sharp=x, left=x, right=x))["params"]


def test_init_from_takes_the_model_config_from_the_source_unless_overridden(converted):
  directory, official = converted
  config = tiny_config(init_from=str(directory))
  config.model.dtype = "bfloat16"
  resolved, source = init_from.resolve(config, None, overrides=("model.fuse_filter_head", "total_steps"))
  assert IFANConfig.from_dict(resolved.model.to_dict()) == official.replace(dtype="bfloat16")
  assert official.iac_compat and official.filter_size == 5 and config.model.channels == 4  # the input is kept
  params = init_from.initial_params(_fresh(official), source, use_reblur_loss=True)
  expected = any_model.load(directory)
  jax.tree.map(np.testing.assert_array_equal, params, {"network": expected.network, "reblur": expected.reblur})

  resumed, none = init_from.resolve(config, {"model": IFANConfig(channels=6).to_dict()}, overrides=())
  assert none is None and resumed.model.channels == 6
  narrow, source = init_from.resolve(config, None, overrides=("model.channels",))
  assert narrow.model.channels == 4
  with pytest.raises(ValueError, match=r"does not fit .*of other shapes: network/"):
    init_from.initial_params(_fresh(IFANConfig.from_dict(narrow.model.to_dict())), source, use_reblur_loss=True)


def test_fine_tuning_an_official_file_from_another_directory_starts_from_its_parameters(converted, tmp_path):
  (tmp_path / "weights").mkdir()
  shutil.copy(GOLDEN / "ifan_small.pytorch", tmp_path / "weights" / "IFAN_small.pytorch")
  (tmp_path / "work").mkdir()
  args = ["--config", os.path.relpath(REPO / "tests/training/tiny_config.py", tmp_path / "work"), "--workdir", "run"]
  args += ["--config.init_from=../weights/IFAN_small.pytorch", "--config.model.filter_size=5"]
  args += ["--config.learning_rate=0", "--config.use_disparity_loss=false", "--config.num_image_summaries=0"]
  proc = run_command("tests.training.train_on_fake_data", [*args, "--config.total_steps=1"], cwd=tmp_path / "work")
  assert proc.returncode == 0, proc.stderr[-3000:]
  workdir = tmp_path / "work" / "run"
  expected = any_model.load(converted[0])
  jax.tree.map(
    np.testing.assert_array_equal, _params(workdir), {"network": expected.network, "reblur": expected.reblur}
  )
  assert IFANConfig.from_dict(_meta(workdir)["model"]) == converted[1]
  # A second start resumes from the workdir's checkpoint, with the model config it was trained with.
  proc = run_command("tests.training.train_on_fake_data", [*args, "--config.total_steps=2"], cwd=tmp_path / "work")
  assert proc.returncode == 0, proc.stderr[-3000:]
  assert "not from init_from" in proc.stderr and _meta(workdir)["step"] == 2


def test_init_from_a_training_workdir(tmp_path):
  loop.train_and_evaluate(tiny_config(total_steps=2), tmp_path / "first", datasets=FakeDatasets())
  config = tiny_config(total_steps=1, learning_rate=0.0, init_from=str(tmp_path / "first"))
  loop.train_and_evaluate(config, tmp_path / "second", datasets=FakeDatasets())
  jax.tree.map(np.testing.assert_array_equal, _params(tmp_path / "second"), _params(tmp_path / "first", 2))
