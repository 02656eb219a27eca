"""Deblurrer: any image size, loading, and clear errors."""

import json

import jax
import numpy as np
import pytest
import torch

from ifan_jax import IFAN, Deblurrer
from ifan_jax.inference.deblurrer import pad_to_multiple
from ifan_jax.saved_models import model_dir
from ifan_jax.training import checkpoints as training_checkpoints
from tests.conftest import TINY_CONFIG, xavier_params

TINY = TINY_CONFIG


@pytest.fixture(scope="module")
def deblurrer():
  return Deblurrer(TINY, xavier_params(TINY))


def test_odd_sizes_are_padded_by_edge_replication_and_cropped_back(deblurrer):
  image = np.random.default_rng(0).random((13, 21, 3), dtype=np.float32)
  out = deblurrer.predict(image)
  assert out["result"].shape == (13, 21, 3) and out["disparity"].shape == (2, 3)
  padded = pad_to_multiple(image)
  assert padded.shape == (16, 24, 3)
  np.testing.assert_array_equal(padded[13:, :21], np.repeat(image[-1:], 3, axis=0))
  whole = jax.jit(IFAN(TINY).apply)(deblurrer.variables, padded[None])["result"][0]
  np.testing.assert_allclose(out["result"], whole[:13, :21], atol=1e-6)


def test_round_trip_through_a_model_directory(deblurrer, tmp_path):
  model_dir.save_model(tmp_path / "model", TINY, deblurrer.variables["params"])
  loaded = Deblurrer.from_checkpoint(tmp_path / "model")
  assert loaded.config == TINY
  image = np.full((8, 8, 3), 0.5, np.float32)
  np.testing.assert_array_equal(loaded(image), deblurrer(image))


def test_model_directories_load_and_save_by_relative_paths(deblurrer, tmp_path, monkeypatch):
  monkeypatch.chdir(tmp_path)
  model_dir.save_model("models/tiny", TINY, deblurrer.variables["params"])
  config, params = model_dir.load_model("models/tiny")
  assert config == TINY and model_dir.is_model_dir(tmp_path / "models" / "tiny")
  jax.tree.map(np.testing.assert_array_equal, params, deblurrer.variables["params"])
  image = np.full((8, 8, 3), 0.5, np.float32)
  np.testing.assert_array_equal(Deblurrer.from_checkpoint("models/tiny")(image), deblurrer(image))


def test_training_workdirs_load_by_relative_paths(deblurrer, tmp_path, monkeypatch):
  saves = training_checkpoints.TrainingCheckpoints(tmp_path / "run", keep=1)
  saves.save(
    5,
    {
      "params": {"network": jax.tree.map(np.asarray, deblurrer.variables["params"])},
      "opt_state": {"count": np.zeros(1)},
    },
    {},
    {"model": TINY.to_dict()},
  )
  saves.close()
  monkeypatch.chdir(tmp_path)
  loaded = Deblurrer.from_checkpoint("run")
  image = np.full((8, 8, 3), 0.5, np.float32)
  assert loaded.config == TINY
  np.testing.assert_array_equal(loaded(image), deblurrer(image))


def test_official_pytorch_files_load_by_relative_paths(golden_dir, tmp_path, monkeypatch):
  spec = json.loads((golden_dir / "ifan_full_manifest.json").read_text())  # filter size 3, as published
  (tmp_path / "weights").mkdir()
  torch.save({k: torch.zeros(shape) for k, shape in spec["shapes"].items()}, tmp_path / "weights" / "IFAN.pytorch")
  monkeypatch.chdir(tmp_path)
  loaded = Deblurrer.from_checkpoint("weights/IFAN.pytorch")
  assert (loaded.config.iterations, loaded.config.channels, loaded.config.iac_compat) == (17, 32, True)


def test_bad_inputs_are_explained(deblurrer, tmp_path):
  with pytest.raises(ValueError, match=r"H x W x 3, got shape \(8, 8\)"):
    deblurrer(np.zeros((8, 8)))
  with pytest.raises(FileNotFoundError, match="holds no ifan_jax model"):
    Deblurrer.from_checkpoint(tmp_path)
  with pytest.raises(FileNotFoundError, match="No checkpoint"):
    Deblurrer.from_checkpoint(tmp_path / "missing")


def test_dual_pixel_model_needs_matching_views():
  config = TINY.replace(dual_pixel=True)
  dual = Deblurrer(config, xavier_params(config))
  image = np.zeros((16, 16, 3), np.float32)
  with pytest.raises(ValueError, match="pass left= and right="):
    dual(image)
  with pytest.raises(ValueError, match="right has shape"):
    dual(image, left=image, right=image[:8])
  assert dual(image, left=image, right=image).shape == (16, 16, 3)
