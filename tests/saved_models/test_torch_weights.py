"""Official checkpoints: golden parity, every key of the full manifests, and clear errors."""

import json
import os
import shutil

import jax
import numpy as np
import pytest
import torch

from ifan_jax import Deblurrer, IFANWithReblur, ops
from ifan_jax.saved_models import model_dir, torch_weights
from ifan_jax.training import losses
from tests.conftest import REPO, TINY_CONFIG, load_npz, run_command, xavier_params

GOLDEN_ARRAYS = {
  "result_train": "result",
  "filters": "filters",
  "disparity": "disparity",
  "right_warped": "right_warped",
  "left_down": "left_down",
  "reblurred": "reblurred",
}


@pytest.fixture(scope="module", params=["ifan_small", "ifan_dual_small"])
def converted(request, golden_dir, tmp_path_factory):
  name = request.param
  meta = json.loads((golden_dir / "golden_meta.json").read_text())[name]
  out = tmp_path_factory.mktemp(name) / "model"
  torch_weights.convert_file(golden_dir / f"{name}.pytorch", out, filter_size=meta["config"]["Fs"])
  return name, meta, out, load_npz(golden_dir / f"{name}_io.npz")


def test_golden_parity_of_every_output_and_loss(converted):
  name, meta, directory, io = converted
  config, network, reblur = model_dir.load_model(directory, with_reblur=True)
  assert config.iac_compat and config.dual_pixel == meta["dual"]
  assert config.iterations == meta["config"]["N"] and config.reblur_iterations == meta["config"]["RBF_num"]
  outputs = IFANWithReblur(config).apply(
    {"params": {"network": network, "reblur": reblur}}, io["C"], io["GT"], left=io["L"], right=io["R"]
  )
  # Measured on CPU float32: at most 8.3e-7 (single image: warped R) and 1.5e-6 (dual-pixel: filters).
  for golden_key, ours in GOLDEN_ARRAYS.items():
    np.testing.assert_allclose(outputs[ours], io[golden_key], rtol=0, atol=1e-5, err_msg=f"{name}: {ours}")
  computed = {
    "deblur": losses.deblur_loss(outputs, io["GT"]),
    "disparity": losses.disparity_loss(outputs),
    "reblur": losses.reblur_loss(outputs, io["C"]),
  }
  for loss, value in meta["losses"].items():  # Measured: at most 7.5e-7 relative (disparity).
    np.testing.assert_allclose(computed[loss], value, rtol=5e-6, err_msg=f"{name}: {loss} loss")
  np.testing.assert_allclose(ops.area_downsample(io["C"], 8), io["blurred_down"], atol=1e-6)
  assert sum(x.size for x in jax.tree.leaves(network)) == meta["params_network"]
  assert sum(x.size for x in jax.tree.leaves(reblur)) == meta["params_reblur"]


def test_deblurrer_reproduces_golden_inference(converted):
  name, _, directory, io = converted
  deblurrer = Deblurrer.from_checkpoint(directory)
  views = dict(left=io["L"][0], right=io["R"][0]) if deblurrer.config.dual_pixel else {}
  # Measured on CPU float32: 2.4e-7 (single image) and 1.0e-6 (dual-pixel).
  result = deblurrer(io["C"][0], **views)
  np.testing.assert_allclose(result, io["result_inference"][0], rtol=0, atol=1e-5, err_msg=name)


@pytest.mark.parametrize("manifest, dual", [("ifan_full_manifest.json", False), ("ifan_dual_full_manifest.json", True)])
def test_every_key_of_the_full_official_checkpoints_maps(golden_dir, manifest, dual):
  spec = json.loads((golden_dir / manifest).read_text())
  state = {k: np.zeros(shape, np.float32) for k, shape in spec["shapes"].items()}
  config, network, reblur = torch_weights.convert_state_dict(state)
  assert (config.iterations, config.channels, config.dual_pixel, config.res_num) == (17, 32, dual, 2)
  assert sum(x.size for x in jax.tree.leaves(network)) == spec["params_network"]
  assert sum(x.size for x in jax.tree.leaves(reblur)) == spec["params_reblur"]


def _small_state(golden_dir):
  return {k: v.numpy() for k, v in torch.load(golden_dir / "ifan_small.pytorch", weights_only=True).items()}


def test_keys_without_prefixes_convert_the_same(golden_dir):
  state = _small_state(golden_dir)
  bare = {k.replace("module.", "").replace("Network.", ""): v for k, v in state.items()}
  _, a, _ = torch_weights.convert_state_dict(state, filter_size=5)
  _, b, _ = torch_weights.convert_state_dict(bare, filter_size=5)
  jax.tree.map(np.testing.assert_array_equal, a, b)


@pytest.mark.parametrize(
  "edit, message",
  [
    (
      lambda s: s.pop("module.Network.conv2_2.0.bias"),
      r"missing parameters \(our names\): \['feature_extractor/conv2_2",
    ),
    (
      lambda s: s.update({"module.Network.extra.0.weight": np.zeros(3, np.float32)}),
      r"unknown keys: \['extra.0.weight'\]",
    ),
    (
      lambda s: s.update({"module.Network.out_res.0.bias": np.zeros(4, np.float32)}),
      r"mis-shaped keys: \['out_res.0.bias",
    ),
  ],
)
def test_bad_state_dicts_list_the_offending_keys(golden_dir, tmp_path, edit, message):
  state = _small_state(golden_dir)
  edit(state)
  path = tmp_path / "bad.pytorch"
  torch.save({k: torch.from_numpy(np.asarray(v)) for k, v in state.items()}, path)
  with pytest.raises(torch_weights.CheckpointMismatch, match=message):
    torch_weights.convert_file(path, tmp_path / "out", filter_size=5)
  assert not (tmp_path / "out").exists()
  assert [p.name for p in tmp_path.iterdir()] == ["bad.pytorch"]


def test_wrong_filter_size_is_explained(golden_dir):
  message = "another --filter_size.*ifan_jax.convert SRC DST --filter_size K"
  with pytest.raises(torch_weights.CheckpointMismatch, match=message):
    torch_weights.convert_state_dict(_small_state(golden_dir), filter_size=7)


def test_truncated_and_missing_files_are_named(golden_dir, tmp_path):
  truncated = tmp_path / "IFAN.pytorch"
  truncated.write_bytes((golden_dir / "ifan_small.pytorch").read_bytes()[:5000])
  with pytest.raises(ValueError, match="Cannot read .*IFAN.pytorch"):
    torch_weights.load_state_dict(truncated)
  with pytest.raises(FileNotFoundError, match="nothing.pytorch"):
    torch_weights.load_state_dict(tmp_path / "nothing.pytorch")


def _snapshot(folder):
  """Every path under `folder` with its bytes (None for folders): to check that nothing was touched."""
  return {str(p.relative_to(folder)): None if p.is_dir() else p.read_bytes() for p in sorted(folder.rglob("*"))}


def test_existing_destination_is_kept_unless_overwrite(golden_dir, tmp_path):
  model_dir.save_model(tmp_path / "model", TINY_CONFIG, xavier_params(TINY_CONFIG))
  with pytest.raises(FileExistsError, match="overwrite"):
    torch_weights.convert_file(golden_dir / "ifan_small.pytorch", tmp_path / "model", filter_size=5)
  assert model_dir.load_config(tmp_path / "model") == TINY_CONFIG
  config = torch_weights.convert_file(
    golden_dir / "ifan_small.pytorch", tmp_path / "model", filter_size=5, overwrite=True
  )
  assert model_dir.load_config(tmp_path / "model") == config != TINY_CONFIG
  assert sorted(os.listdir(tmp_path)) == ["model"]  # no staging or old copy left behind


def test_overwrite_leaves_a_folder_that_is_not_a_model_untouched(golden_dir, tmp_path):
  precious = tmp_path / "precious"
  precious.mkdir()
  shutil.copy(golden_dir / "ifan_small.pytorch", precious / "IFAN.pytorch")
  (precious / "notes.txt").write_text("keep me")
  before = _snapshot(tmp_path)
  for dst, cwd in (("precious", tmp_path), (".", precious)):
    proc = run_command(
      "ifan_jax.convert",
      [os.path.relpath(precious / "IFAN.pytorch", cwd), dst, "--overwrite", "--filter_size=5"],
      cwd=cwd,
    )
    assert proc.returncode == 1, proc.stderr[-3000:]
    assert f"{precious} is not an ifan_jax model directory" in proc.stderr and "Traceback" not in proc.stderr
    assert _snapshot(tmp_path) == before


def test_overwrite_refuses_a_model_holding_other_files_or_the_working_directory(golden_dir, tmp_path, monkeypatch):
  model = tmp_path / "model"
  model_dir.save_model(model, TINY_CONFIG, xavier_params(TINY_CONFIG))
  (model / "README").write_text("my notes")
  before = _snapshot(tmp_path)
  with pytest.raises(FileExistsError, match=r"holds \['README'\] besides the model"):
    torch_weights.convert_file(golden_dir / "ifan_small.pytorch", model, filter_size=5, overwrite=True)
  (model / "README").unlink()
  before = _snapshot(tmp_path)
  monkeypatch.chdir(model / model_dir.PARAMS_DIR)
  with pytest.raises(ValueError, match=f"lies inside {model}"):
    torch_weights.convert_file(golden_dir / "ifan_small.pytorch", "..", filter_size=5, overwrite=True)
  assert _snapshot(tmp_path) == before


def test_an_interrupted_overwrite_keeps_the_old_model(tmp_path, monkeypatch):
  model = tmp_path / "model"
  model_dir.save_model(model, TINY_CONFIG, xavier_params(TINY_CONFIG))
  before = _snapshot(tmp_path)
  path_type = type(model_dir.epath.Path(model))
  rename = path_type.rename

  def rename_but_not_the_new_model_in(self, target):
    if self.name.startswith(".model.tmp-"):
      raise KeyboardInterrupt  # as if killed between the two renames
    return rename(self, target)

  monkeypatch.setattr(path_type, "rename", rename_but_not_the_new_model_in)
  with pytest.raises(KeyboardInterrupt):
    model_dir.save_model(model, TINY_CONFIG.replace(iterations=3), xavier_params(TINY_CONFIG), overwrite=True)
  assert _snapshot(tmp_path) == before


def test_an_unwritable_destination_fails_at_once_naming_it(golden_dir, locked_dir):
  with pytest.raises(PermissionError, match=f"Cannot write a model to {locked_dir / 'model'}"):
    model_dir.save_model(locked_dir / "model", TINY_CONFIG, xavier_params(TINY_CONFIG))
  proc = run_command(
    "ifan_jax.convert", [golden_dir / "ifan_small.pytorch", "locked/model", "--filter_size=5"], cwd=locked_dir.parent
  )
  assert proc.returncode == 1, proc.stderr[-3000:]
  assert f"Cannot write a model to {locked_dir / 'model'}" in proc.stderr and "Traceback" not in proc.stderr
  assert os.listdir(locked_dir) == []


@pytest.mark.parametrize("relative", [False, True])
def test_command_line_converts_and_reports(golden_dir, tmp_path, relative):
  src, dst = tmp_path / "weights" / "IFAN_dual.pytorch", tmp_path / "models" / "dual"
  src.parent.mkdir()
  shutil.copy(golden_dir / "ifan_dual_small.pytorch", src)
  cwd = tmp_path if relative else REPO
  args = [os.path.relpath(p, tmp_path) if relative else p for p in (src, dst)]
  done = run_command("ifan_jax.convert", [*args, "--filter_size=5"], cwd=cwd)
  assert done.returncode == 0, done.stderr
  assert "dual_pixel=True" in done.stdout and "iac_compat=True" in done.stdout
  assert model_dir.load_config(dst).dual_pixel
