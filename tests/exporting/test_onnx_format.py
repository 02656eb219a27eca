"""The `onnx` export: the command's file run by onnxruntime at two sizes against `Deblurrer`, the
export-only replacements against the model's own ops, and the two jax2onnx faults they avoid."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ifan_jax import Deblurrer
from ifan_jax.exporting import forward, onnx_format
from ifan_jax.saved_models import model_dir
from tests.conftest import TINY_CONFIG, run_command, xavier_params


@pytest.fixture(scope="module")
def onnx_tools():
  """jax2onnx and onnxruntime; missing, a failure that says how to install them (CI has them)."""
  try:
    import jax2onnx  # noqa: F401  # pylint: disable=import-outside-toplevel,unused-import
    import onnxruntime  # pylint: disable=import-outside-toplevel
  except ImportError as e:
    pytest.fail(f"The ONNX tests need jax2onnx and onnxruntime: {onnx_format._INSTALL}. ({e})")
  return onnxruntime


def _session(onnxruntime, model):
  options = onnxruntime.SessionOptions()
  options.log_severity_level = 3  # onnxruntime warns about every unused initializer jax2onnx leaves.
  return onnxruntime.InferenceSession(model, options)


@pytest.fixture(scope="module")
def exported(onnx_tools, tiny_model_dir, tmp_path_factory):
  folder = tmp_path_factory.mktemp("onnx")
  proc = run_command(
    "ifan_jax.export", ["--checkpoint", tiny_model_dir, "--out", "m.onnx", "--format", "onnx"], cwd=folder
  )
  assert proc.returncode == 0, proc.stderr[-3000:]
  assert "Wrote m.onnx (onnx," in proc.stdout
  return _session(onnx_tools, str(folder / "m.onnx"))


def test_onnxruntime_matches_the_deblurrer_at_two_sizes(exported, tiny_model_dir):
  deblurrer = Deblurrer.from_checkpoint(tiny_model_dir)
  assert [i.name for i in exported.get_inputs()] == ["image"]
  assert [o.name for o in exported.get_outputs()] == list(forward.OUTPUT_NAMES)
  assert exported.get_inputs()[0].shape == [1, "8*h", "8*w", 3]
  for h, w in [(64, 96), (40, 56)]:
    image = np.random.default_rng(h).random((h, w, 3), np.float32)
    result, disparity = exported.run(None, {"image": image[None]})
    expected = deblurrer.predict(image)
    # Measured: at most 2.4e-7 on the result and 5.6e-9 on the disparity (onnxruntime's own kernels).
    np.testing.assert_allclose(result[0], expected["result"], atol=2e-6, rtol=0)
    np.testing.assert_allclose(disparity[0, ..., 0], expected["disparity"], atol=5e-8, rtol=0)


@pytest.mark.parametrize(
  "config", [TINY_CONFIG, TINY_CONFIG.replace(iac_compat=True, res_num=2)], ids=["tiny", "compat"]
)
def test_export_only_replacements_compute_what_the_model_computes(config):
  deblurrer = Deblurrer(config, xavier_params(config))
  image = jnp.asarray(np.random.default_rng(0).random((1, 40, 48, 3), np.float32))
  ours = jax.jit(forward.inference_function(deblurrer))(image)
  replaced = jax.jit(onnx_format.onnx_function(deblurrer))(image)
  for a, b in zip(ours, replaced):
    np.testing.assert_allclose(b, a, atol=1e-6, rtol=0)


def test_jax2onnx_still_breaks_on_what_the_replacements_avoid(onnx_tools):
  """If these start passing, jax2onnx fixed its faults and the replacements can go."""
  from jax2onnx import to_onnx  # pylint: disable=import-outside-toplevel

  def edge_pad(x):
    return jnp.pad(x, ((0, 0), (1, 1), (0, 0), (0, 0)), mode="edge")

  with pytest.raises(Exception, match="Concat"):  # onnxruntime: "Can't merge shape info ... Inferred=3 Declared=1"
    _session(onnx_tools, to_onnx(edge_pad, [(1, 8, 12, 4)]).SerializeToString())

  def phase(y):  # UpConv's phase selection, at a symbolic size
    h, w = y.shape[1] - 1, y.shape[2] - 1
    return y[:, 1 : 1 + h, 0:w, 1, 0]

  spec = jax.ShapeDtypeStruct(jax.export.symbolic_shape("1, 2*h + 1, 2*w + 1, 2, 2, 4"), jnp.float32)
  with pytest.raises(Exception, match="(?i)symbolic dim"):  # "Symbolic dimension ... requires a constant"
    to_onnx(phase, [spec])


def test_the_dual_pixel_model_through_the_command_takes_image_left_right(onnx_tools, tmp_path):
  config = TINY_CONFIG.replace(dual_pixel=True)
  model_dir.save_model(tmp_path / "dual", config, xavier_params(config))
  args = ["--checkpoint", "dual", "--out", "dual.onnx", "--format", "onnx"]
  proc = run_command("ifan_jax.export", args, cwd=tmp_path)
  assert proc.returncode == 0, proc.stderr[-3000:]
  session = _session(onnx_tools, str(tmp_path / "dual.onnx"))
  assert [i.name for i in session.get_inputs()] == ["image", "left", "right"]
  image, left, right = (np.random.default_rng(i).random((40, 56, 3), np.float32) for i in range(3))
  result, _ = session.run(None, {"image": image[None], "left": left[None], "right": right[None]})
  expected = Deblurrer.from_checkpoint(tmp_path / "dual")(image, left=left, right=right)
  np.testing.assert_allclose(result[0], expected, rtol=0, atol=2e-6)  # 1.8e-7 measured
