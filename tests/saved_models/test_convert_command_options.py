"""`python -m ifan_jax.convert`'s options as the README and user guide promise them, through the command with
relative paths, on the golden official checkpoint: --in_bit and the 16-bit guess from the file's name,
--reblur_filter_size, and a file without the reblurring network."""

import shutil

import numpy as np
import pytest
import torch

from ifan_jax import Deblurrer
from ifan_jax.saved_models import model_dir
from tests.conftest import load_npz, run_command


def _convert(tmp_path, name, *flags):
  return run_command("ifan_jax.convert", [f"weights/{name}", "model", "--filter_size=5", *flags], cwd=tmp_path)


@pytest.fixture
def weights(golden_dir, tmp_path):
  (tmp_path / "weights").mkdir()
  return golden_dir / "ifan_small.pytorch"


@pytest.mark.parametrize(
  ("name", "flags", "in_bit"),
  [
    ("IFAN_16bit.pytorch", (), 16),  # the name says 16bit
    ("IFAN_16bit.pytorch", ("--in_bit=8",), 8),  # the flag wins
    ("IFAN.pytorch", (), 8),
    ("IFAN.pytorch", ("--in_bit=16",), 16),
  ],
)
def test_in_bit_from_the_name_or_the_flag(weights, tmp_path, name, flags, in_bit):
  shutil.copy(weights, tmp_path / "weights" / name)
  proc = _convert(tmp_path, name, *flags)
  assert proc.returncode == 0, proc.stderr[-3000:]
  assert f"in_bit={in_bit}" in proc.stdout
  assert model_dir.load_config(tmp_path / "model").in_bit == in_bit


def test_reblur_filter_size_is_checked_against_the_file(weights, tmp_path):
  shutil.copy(weights, tmp_path / "weights" / "IFAN.pytorch")
  proc = _convert(tmp_path, "IFAN.pytorch", "--reblur_filter_size=5")
  assert proc.returncode == 1
  expected = (
    "RBF.3 (reblur) has 42 channels, not a multiple of C*(2k+1) = 33 for C=3, k=5: a checkpoint of another "
    "--reblur_filter_size?"
  )
  assert expected in proc.stderr
  assert not (tmp_path / "model").exists()
  proc = _convert(tmp_path, "IFAN.pytorch", "--reblur_filter_size=3")
  assert proc.returncode == 0, proc.stderr[-3000:]
  config, _, reblur = model_dir.load_model(tmp_path / "model", with_reblur=True)
  assert (config.reblur_filter_size, config.reblur_iterations) == (3, 2) and reblur


def test_a_file_without_the_reblurring_network_converts_and_deblurs_the_same(weights, golden_dir, tmp_path):
  state = torch.load(weights, weights_only=True)
  network_only = {key: value for key, value in state.items() if ".reblurNet." not in key}
  assert len(network_only) < len(state)
  torch.save(network_only, tmp_path / "weights" / "IFAN.pytorch")
  proc = _convert(tmp_path, "IFAN.pytorch")
  assert proc.returncode == 0, proc.stderr[-3000:]
  _, _, reblur = model_dir.load_model(tmp_path / "model", with_reblur=True)
  assert not reblur
  golden = load_npz(golden_dir / "ifan_small_io.npz")
  result = Deblurrer.from_checkpoint(tmp_path / "model")(golden["C"][0])
  np.testing.assert_allclose(result, golden["result_inference"][0], rtol=0, atol=1e-5)  # 2.4e-7 measured
