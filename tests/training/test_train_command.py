"""`python -m ifan_jax.train` as a user types it: relative --workdir and data_dir, from another directory."""

import json

import numpy as np

from ifan_jax.io import images
from tests.conftest import REPO, run_command

TINY_CONFIG = REPO / "tests" / "training" / "tiny_config.py"


def test_train_then_deblur_with_relative_paths_from_another_directory(tmp_path):
  done = run_command(
    "ifan_jax.train",
    [
      "--config",
      TINY_CONFIG,
      "--workdir",
      "runs/tiny",
      "--config.dataset=synthetic_dp/tiny",
      "--config.data_dir=tfds",
      "--config.total_steps=2",
      "--config.eval_every_steps=2",
      "--config.checkpoint_every_steps=2",
    ],
    cwd=tmp_path,
    timeout=900,
  )
  assert done.returncode == 0, done.stderr[-3000:]
  assert "Validation PSNR after 2 steps (4 images of synthetic_dp/tiny validation)" in done.stdout
  final = json.loads((tmp_path / "runs" / "tiny" / "final_metrics.json").read_text())
  assert final["step"] == 2 and np.isfinite(final["gain"]) and final["worst_image"].startswith("validation_")
  assert sorted(p.name for p in (tmp_path / "runs" / "tiny" / "checkpoints").iterdir()) == ["2"]
  assert (tmp_path / "tfds" / "synthetic_dp").is_dir()  # the relative data_dir, under the working directory

  images.write_image(tmp_path / "photo.png", np.full((20, 28, 3), 0.5, np.float32))
  done = run_command("ifan_jax.deblur", ["photo.png", "--checkpoint", "runs/tiny", "--out", "out"], cwd=tmp_path)
  assert done.returncode == 0, done.stderr[-3000:]
  assert images.read_image(tmp_path / "out" / "photo.png").rgb.shape == (20, 28, 3)


def test_a_smoke_run_of_a_shipped_config_trains_validates_and_saves_with_relative_paths(tmp_path):
  done = run_command(
    "ifan_jax.train",
    [
      "--config",
      "configs/synthetic.py:smoke",
      "--workdir",
      "runs/smoke",
      "--config.dataset=synthetic_dp/tiny",
      "--config.data_dir=tfds",
    ],
    cwd=tmp_path,
    timeout=900,
  )
  assert done.returncode == 0, done.stderr[-3000:]
  assert "Validation PSNR after 20 steps (2 images of synthetic_dp/tiny validation)" in done.stdout
  final = json.loads((tmp_path / "runs" / "smoke" / "final_metrics.json").read_text())
  assert final["step"] == 20 and np.isfinite(final["gain"])
  assert sorted(p.name for p in (tmp_path / "runs" / "smoke" / "checkpoints").iterdir()) == ["10", "20"]
