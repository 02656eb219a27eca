"""`python -m ifan_jax.export` options the user guide promises, through the command: `--dtype bfloat16`, and
no `.partial` file left behind when the export fails after the file was opened."""

import jax
import numpy as np

from ifan_jax import Deblurrer
from ifan_jax.saved_models import model_dir
from tests.conftest import TINY_CONFIG, run_command, xavier_params


def test_dtype_bfloat16_through_the_command(tiny_model_dir, tmp_path):
  args = ["--checkpoint", tiny_model_dir, "--out", "bf16.jax", "--dtype", "bfloat16", "--platforms", "cpu"]
  proc = run_command("ifan_jax.export", args, cwd=tmp_path)
  assert proc.returncode == 0, proc.stderr[-3000:]
  assert sorted(p.name for p in tmp_path.iterdir()) == ["bf16.jax"]
  exported = jax.export.deserialize(bytearray((tmp_path / "bf16.jax").read_bytes()))
  assert "bf16" in exported.mlir_module()
  image = np.random.default_rng(0).random((40, 48, 3), np.float32)
  result, _ = exported.call(image[None])
  difference = np.abs(np.asarray(result)[0] - Deblurrer.from_checkpoint(tiny_model_dir)(image)).max()
  # Measured 0.0034 on this model (tests/exporting/test_jax_format.py); float32 would give 0.
  assert 0 < difference < 0.007, difference


def test_a_failed_export_leaves_no_partial_file(tmp_path):
  """A model whose parameters are not finite is refused as it loads: after `--out`'s partial file was
  opened beside it (export_file asks the folder first), which must go with the failure."""
  params = jax.tree.map(lambda x: np.full_like(x, np.nan), xavier_params(TINY_CONFIG))
  model_dir.save_model(tmp_path / "diverged", TINY_CONFIG, params)
  (tmp_path / "out").mkdir()
  proc = run_command("ifan_jax.export", ["--checkpoint", "diverged", "--out", "out/m.jax"], cwd=tmp_path)
  assert proc.returncode == 1, proc.stderr[-3000:]
  assert "the model's parameters hold NaN or infinite values" in proc.stderr
  assert list((tmp_path / "out").iterdir()) == []
