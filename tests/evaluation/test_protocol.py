"""`python -m ifan_jax.eval` end to end on a tiny synthetic_dp build, folders, and the protocol's details."""

import csv
import dataclasses
import json
import os
import re

import cv2
import jax
import numpy as np
import pytest
import skimage
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from ifan_jax import Deblurrer
from ifan_jax.data import pipeline, registry
from ifan_jax.evaluation import metrics, protocol, sources
from ifan_jax.io import images
from ifan_jax.saved_models import torch_weights
from tests.conftest import REPO, run_command, strict_json_loads
from tests.io.hostile_files import png_declaring


@pytest.fixture(scope="module")
def synthetic_dir(tmp_path_factory):
  data_dir = str(tmp_path_factory.mktemp("tfds"))
  pipeline.ensure_built("synthetic_dp/tiny", data_dir)
  return data_dir


def _read_csv(path):
  with open(path) as f:
    return list(csv.DictReader(f))


@pytest.mark.parametrize("relative", [False, True])
def test_eval_cli_writes_scores_that_the_metrics_module_reproduces(synthetic_dir, tiny_model_dir, tmp_path, relative):
  out = tmp_path / "eval"
  cwd = tmp_path if relative else REPO
  checkpoint, data_dir, out_arg = (
    os.path.relpath(p, cwd) if relative else p for p in (tiny_model_dir, synthetic_dir, out)
  )
  proc = run_command(
    "ifan_jax.eval",
    [
      "--checkpoint",
      checkpoint,
      "--dataset",
      "synthetic_dp/tiny",
      "--data_dir",
      data_dir,
      "--out",
      out_arg,
      "--figures",
      "2",
    ],
    cwd=cwd,
  )
  assert proc.returncode == 0, proc.stderr[-3000:]
  assert "| Model | PSNR ↑ | SSIM ↑ | MAE ↓ | LPIPS ↓ | s/image |" in proc.stdout
  # The device is this machine's (the test's process sees the same): cpu on CI, cuda or tpu elsewhere.
  platform = jax.devices()[0].platform
  assert re.search(rf"synthetic_dp/tiny test: 4 images \(4 with ground truth\) on {platform}\b", proc.stdout)
  table = [line for line in proc.stdout.splitlines() if line.startswith("| ")]
  assert table[1].startswith("| Input | ") and table[2].startswith("| tiny | "), table

  rows = _read_csv(out / "per_image.csv")
  assert [r["name"] for r in rows] == [f"test_{i:05d}" for i in range(4)]
  assert sorted(os.listdir(out / "outputs")) == [f"test_{i:05d}.png" for i in range(4)]
  assert sorted(os.listdir(out / "figures")) == ["test_00000.png", "test_00001.png"]

  deblurrer = Deblurrer.from_checkpoint(tiny_model_dir)
  lpips = metrics.LPIPS()
  examples = pipeline.eval_iterator(dataset="synthetic_dp/tiny", data_dir=synthetic_dir)
  for row, example in zip(rows, examples):
    result, sharp = deblurrer(example["blurred"][0]), example["sharp"][0]
    expected = dict(
      psnr=metrics.psnr(result, sharp),
      ssim=metrics.ssim(result, sharp),
      mae=metrics.mae(result, sharp),
      lpips=lpips(result, sharp),
    )
    blurred = example["blurred"][0].astype(np.float64)
    expected_input = dict(
      psnr=peak_signal_noise_ratio(sharp.astype(np.float64), blurred, data_range=1),
      ssim=structural_similarity(sharp.astype(np.float64), blurred, data_range=1, channel_axis=-1),
      mae=np.mean(np.abs(blurred - sharp)),
      lpips=lpips(example["blurred"][0], sharp),
    )
    for name, value in expected.items():
      assert abs(float(row[name]) - float(value)) < 1e-5, (row["name"], name)
      assert abs(float(row[f"input_{name}"]) - float(expected_input[name])) < 1e-4, (row["name"], name)
      sign = 1 if name in ("psnr", "ssim") else -1
      gain = sign * (float(row[name]) - float(row[f"input_{name}"]))
      assert abs(float(row[f"{name}_gain"]) - gain) < 2e-6, (row["name"], name)
    assert float(row["seconds"]) > 0
    saved = cv2.imread(str(out / "outputs" / f"{row['name']}.png"))[..., ::-1]
    np.testing.assert_array_equal(saved, images.quantize(result, 8))

  summary = json.loads((out / "summary.json").read_text())
  assert summary["images"] == summary["with_ground_truth"] == 4
  for name in protocol.METRICS:
    assert abs(summary["mean"][name] - np.mean([float(r[name]) for r in rows])) < 1e-5
    assert abs(summary["input_mean"][name] - np.mean([float(r[f"input_{name}"]) for r in rows])) < 1e-5
    assert summary["worse_than_input"][name] == sum(float(r[f"{name}_gain"]) < 0 for r in rows)
  input_row = "| Input | {psnr:.2f} | {ssim:.3f} | {mae:.4f} | {lpips:.3f} | - |".format(**summary["input_mean"])
  assert input_row in proc.stdout
  worse = summary["worse_than_input"]
  assert f"made worse than its input, of 4: PSNR {worse['psnr']}, SSIM {worse['ssim']}," in proc.stdout
  assert summary["device"].split()[0] == platform and summary["paper"] is None and summary["paper_input"] is None
  assert summary["failed"] == [] and summary["complete"]


def _write_folder(root, names, with_target, bit_depth=16):
  dtype = np.uint16 if bit_depth == 16 else np.uint8
  rng = np.random.default_rng(0)
  for sub in ("source", "target") if with_target else ("",):
    os.makedirs(root / sub, exist_ok=True)
    for name in names:
      pixels = rng.integers(0, np.iinfo(dtype).max, (21, 35, 3), dtype=dtype)
      cv2.imwrite(str(root / sub / f"{name}.png"), pixels)


def test_folder_with_source_and_target_is_scored_and_cropped_to_multiples_of_8(tiny_model_dir, tmp_path):
  _write_folder(tmp_path / "RealDOF", ["a", "b"], with_target=True)
  source = sources.open_source(f"folder:{tmp_path / 'RealDOF'}")
  assert (source.name, source.count, source.bit_depth) == ("folder RealDOF", 2, 16)
  example = next(source.examples())
  assert example["blurred"].shape == example["sharp"].shape == (1, 16, 32, 3)
  np.testing.assert_array_equal(
    example["blurred"][0], images.read_image(tmp_path / "RealDOF" / "source" / "a.png").rgb[:16, :32]
  )
  scores, summary = protocol.evaluate(
    Deblurrer.from_checkpoint(tiny_model_dir), source, tmp_path / "out", num_figures=1
  )
  assert [s.name for s in scores] == ["a", "b"] and summary["with_ground_truth"] == 2
  # 16x32 after cropping: PSNR, SSIM and MAE are scored, LPIPS is left out (not NaN) and said so.
  assert scores[0].psnr > 0 and scores[0].lpips is None and scores[0].input_lpips is None
  assert summary["mean"]["lpips"] is None and summary["too_small_for_lpips"] == ["a", "b"]
  assert "LPIPS leaves out 2 images under 31 pixels a side" in protocol.format_table(summary)
  assert cv2.imread(str(tmp_path / "out" / "outputs" / "a.png"), cv2.IMREAD_UNCHANGED).dtype == np.uint16


def test_folder_without_ground_truth_gives_outputs_only(tiny_model_dir, tmp_path):
  _write_folder(tmp_path / "CUHK", ["x", "y", "z"], with_target=False, bit_depth=8)
  source = sources.open_source(f"folder:{tmp_path / 'CUHK'}", limit=2)
  scores, summary = protocol.evaluate(Deblurrer.from_checkpoint(tiny_model_dir), source, tmp_path / "out")
  assert [s.name for s in scores] == ["x", "y"] and scores[0].psnr is None and scores[0].input_psnr is None
  assert summary["with_ground_truth"] == 0 and summary["mean"]["psnr"] is None
  assert summary["input_mean"]["psnr"] is None and summary["worse_than_input"]["psnr"] == 0
  table = protocol.format_table(summary)
  assert "| Input | - | - | - | - |" in table and "| ifan_jax | - | - | - | - |" in table
  assert "made worse" not in table
  with open(tmp_path / "out" / "per_image.csv") as f:
    row = next(csv.DictReader(f))
  assert row["psnr"] == row["input_psnr"] == row["psnr_gain"] == ""


def test_an_input_equal_to_its_sharp_image_gives_an_infinite_psnr_in_strict_json(tiny_model_dir, tmp_path):
  """The blurred input's PSNR against itself is infinite: the table prints it, summary.json (which
  strict parsers must read) holds null with the value under `non_finite`."""
  for sub in ("source", "target"):
    os.makedirs(tmp_path / "same" / sub)
    cv2.imwrite(str(tmp_path / "same" / sub / "a.png"), skimage.data.astronaut()[:40, :48])
  model = os.path.relpath(tiny_model_dir, tmp_path)
  proc = run_command("ifan_jax.eval", ["--checkpoint", model, "--dataset", "folder:same", "--out", "out"], cwd=tmp_path)
  assert proc.returncode == 0, proc.stderr[-3000:]
  assert "| Input | inf |" in proc.stdout
  summary = strict_json_loads((tmp_path / "out" / "summary.json").read_text())
  assert summary["input_mean"]["psnr"] is None and summary["mean_gain"]["psnr"] is None
  assert summary["non_finite"] == {"input_mean.psnr": "inf", "mean_gain.psnr": "-inf"}
  assert summary["mean"]["psnr"] > 0 and summary["worse_than_input"]["psnr"] == 1
  assert _read_csv(tmp_path / "out" / "per_image.csv")[0]["input_psnr"] == "inf"


def test_folder_images_that_fail_are_reported_skipped_and_recorded(tiny_model_dir, tmp_path):
  _write_folder(tmp_path / "set", ["a", "b", "c"], with_target=True, bit_depth=8)
  cv2.imwrite(str(tmp_path / "set" / "target" / "b.png"), np.zeros((24, 40, 3), np.uint8))
  (tmp_path / "set" / "source" / "c.png").write_bytes(b"\x89PNG\r\n\x1a\n not an image")
  model = os.path.relpath(tiny_model_dir, tmp_path)
  proc = run_command("ifan_jax.eval", ["--checkpoint", model, "--dataset", "folder:set", "--out", "out"], cwd=tmp_path)
  assert proc.returncode == 1, proc.stderr[-3000:]
  mismatch = f"{tmp_path}/set/target/b.png is 40x24 pixels but its blurred image {tmp_path}/set/source/b.png is 35x21"
  assert f"failed: b: {mismatch}" in proc.stdout
  assert "failed: c: " in proc.stdout and "c.png: cannot decode the image" in proc.stdout
  assert [r["name"] for r in _read_csv(tmp_path / "out" / "per_image.csv")] == ["a"]
  summary = json.loads((tmp_path / "out" / "summary.json").read_text())
  assert summary["images"] == 1 and summary["complete"]
  assert [f["name"] for f in summary["failed"]] == ["b", "c"] and summary["failed"][0]["error"] == mismatch + "."
  assert os.listdir(tmp_path / "out" / "outputs") == ["a.png"]


@pytest.mark.parametrize("relative", [False, True])
def test_a_folder_image_over_the_pixel_limit_is_reported_and_skipped(tiny_model_dir, tmp_path, relative):
  """A 74-byte PNG declaring 30000x30000 pixels is refused from its header; the rest is evaluated."""
  _write_folder(tmp_path / "set", ["a"], with_target=False, bit_depth=8)
  (tmp_path / "set" / "huge.png").write_bytes(png_declaring(30000, 30000))
  cwd = tmp_path if relative else REPO
  model, folder, out = (
    os.path.relpath(p, cwd) if relative else p for p in (tiny_model_dir, tmp_path / "set", tmp_path / "out")
  )
  proc = run_command("ifan_jax.eval", ["--checkpoint", model, "--dataset", f"folder:{folder}", "--out", out], cwd=cwd)
  assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr[-3000:]
  assert (
    f"failed: huge: {tmp_path}/set/huge.png: 30000x30000 pixels (900.0 megapixels), more than the 200" in proc.stdout
  )
  assert [r["name"] for r in _read_csv(tmp_path / "out" / "per_image.csv")] == ["a"]


def test_an_interrupted_evaluation_still_writes_what_was_done(tiny_model_dir, tmp_path):
  _write_folder(tmp_path / "set", ["a", "b", "c"], with_target=True, bit_depth=8)
  source = sources.open_source(f"folder:{tmp_path / 'set'}")

  def interrupted_after_one():
    examples = source.examples()
    yield next(examples)
    raise KeyboardInterrupt

  with pytest.raises(KeyboardInterrupt):
    protocol.evaluate(
      Deblurrer.from_checkpoint(tiny_model_dir),
      dataclasses.replace(source, examples=interrupted_after_one),
      tmp_path / "out",
    )
  assert [r["name"] for r in _read_csv(tmp_path / "out" / "per_image.csv")] == ["a"]
  summary = json.loads((tmp_path / "out" / "summary.json").read_text())
  assert summary["images"] == 1 and not summary["complete"] and summary["failed"] == []


def test_files_sharing_a_stem_keep_distinct_names_and_outputs(tiny_model_dir, tmp_path):
  _write_folder(tmp_path / "set", ["x", "y"], with_target=False, bit_depth=8)
  cv2.imwrite(str(tmp_path / "set" / "x.jpg"), np.full((16, 16, 3), 128, np.uint8))
  source = sources.open_source(f"folder:{tmp_path / 'set'}")
  scores, _ = protocol.evaluate(Deblurrer.from_checkpoint(tiny_model_dir), source, tmp_path / "out")
  assert [s.name for s in scores] == ["x.jpg", "x.png", "y"]
  assert sorted(os.listdir(tmp_path / "out" / "outputs")) == ["x.jpg.png", "x.png.png", "y.png"]


def test_limit_must_be_at_least_one(tiny_model_dir, tmp_path):
  _write_folder(tmp_path / "set", ["a"], with_target=False, bit_depth=8)
  with pytest.raises(ValueError, match="limit must be at least 1"):
    sources.open_source(f"folder:{tmp_path / 'set'}", limit=0)
  proc = run_command(
    "ifan_jax.eval", ["--checkpoint", tiny_model_dir, "--dataset", "folder:set", "--limit", "0"], cwd=tmp_path
  )
  assert proc.returncode == 1 and "ifan_jax.eval: limit must be at least 1" in proc.stderr, proc.stderr[-3000:]
  assert not (tmp_path / "results").exists()


def test_a_bad_output_folder_or_checkpoint_is_named_without_a_traceback(tiny_model_dir, tmp_path):
  _write_folder(tmp_path / "set", ["a"], with_target=False, bit_depth=8)
  (tmp_path / "results.txt").write_text("not a folder")
  proc = run_command(
    "ifan_jax.eval",
    ["--checkpoint", "no/such/model", "--dataset", "folder:set", "--out", "results.txt/sub"],
    cwd=tmp_path,
  )
  assert proc.returncode == 1 and "--out: Cannot write to the folder results.txt/sub" in proc.stderr
  proc = run_command(
    "ifan_jax.eval", ["--checkpoint", "no/such/model", "--dataset", "folder:set", "--out", "out"], cwd=tmp_path
  )
  assert proc.returncode == 1 and f"ifan_jax.eval: No checkpoint at {tmp_path}/no/such/model." in proc.stderr
  assert "Traceback" not in proc.stderr


def test_rotation_is_counter_clockwise_and_undone(tiny_model_dir):
  deblurrer = Deblurrer.from_checkpoint(tiny_model_dir)
  blurred = np.random.default_rng(1).random((1, 16, 40, 3), dtype=np.float32)
  out = protocol.predict(deblurrer, {"blurred": blurred}, rotate=True)
  turned = deblurrer.predict(np.rot90(blurred[0]))  # numpy's rot90 turns counter-clockwise
  assert out["result"].shape == (16, 40, 3) and out["disparity"].shape == (2, 5)
  np.testing.assert_array_equal(out["result"], np.rot90(turned["result"], -1))
  np.testing.assert_array_equal(out["disparity"], np.rot90(turned["disparity"], -1))


def test_table_shows_the_input_row_and_the_paper_rows_for_the_dpdd_test_set():
  summary = {
    "dataset": "dpdd test",
    "images": 76,
    "with_ground_truth": 76,
    "device": "gpu NVIDIA H100",
    "mean": dict(psnr=25.371, ssim=0.7891, mae=0.03941, lpips=0.2172),
    "input_mean": dict(psnr=23.8904, ssim=0.72512, mae=0.047104, lpips=0.3491),
    "worse_than_input": dict(psnr=2, ssim=1, mae=3, lpips=0),
    "seconds_per_image": 0.1234,
    "paper": registry.entry("dpdd").paper,
    "paper_input": registry.entry("dpdd").paper_input,
  }
  table = protocol.format_table(summary, label="IFAN.pytorch").splitlines()
  assert table[3] == "| Input | 23.89 | 0.725 | 0.0471 | 0.349 | - |"
  assert table[4] == "| IFAN.pytorch | 25.37 | 0.789 | 0.0394 | 0.217 | 0.123 |"
  assert table[5] == "| Input (paper) | 23.89 | 0.725 | 0.0471 | 0.349 | - |"
  assert table[6] == "| IFAN (paper) | 25.37 | 0.789 | 0.0394 | 0.217 | - |"
  assert table[7] == "Images the model made worse than its input, of 76: PSNR 2, SSIM 1, MAE 3, LPIPS 0"


def test_the_paper_rows_come_with_the_test_split_only(tmp_path):
  source = sources.EvalSource(
    name="dpdd validation",
    split="validation",
    count=0,
    bit_depth=8,
    rotate=False,
    examples=lambda: iter(()),
    paper=registry.entry("dpdd").paper,
    paper_input=registry.entry("dpdd").paper_input,
  )
  summary = protocol.summarize([], source, failed=[], complete=True)
  assert summary["paper"] is summary["paper_input"] is None
  summary = protocol.summarize([], dataclasses.replace(source, split="test"), failed=[], complete=True)
  assert summary["paper_input"] == dict(psnr=23.89, ssim=0.725, mae=0.0471, lpips=0.349)


def test_unknown_datasets_and_folders_are_reported(tmp_path):
  with pytest.raises(FileNotFoundError, match="no such folder"):
    sources.open_source(f"folder:{tmp_path / 'missing'}")
  with pytest.raises(ValueError, match="unknown dataset 'gopro'"):
    sources.open_source("gopro")


def test_scores_of_an_official_checkpoint_are_those_of_the_reference_output(golden_dir, tmp_path):
  """The golden small official checkpoint on its own inputs, saved as 16-bit PNGs: the
  scores are those of the reference's output (up to the 16-bit rounding of the inputs)."""
  golden = np.load(golden_dir / "ifan_small_io.npz")
  for sub, key in (("source", "C"), ("target", "GT")):
    os.makedirs(tmp_path / "set" / sub)
    images.write_image(tmp_path / "set" / sub / "0.png", golden[key][0], bit_depth=16)
  # Its filter size is 5, so it goes through the converter (`.pytorch` files given to
  # Deblurrer.from_checkpoint directly are converted with the official filter size 3).
  torch_weights.convert_file(golden_dir / "ifan_small.pytorch", tmp_path / "model", filter_size=5)
  deblurrer = Deblurrer.from_checkpoint(tmp_path / "model")
  scores, _ = protocol.evaluate(
    deblurrer, sources.open_source(f"folder:{tmp_path / 'set'}"), tmp_path / "out", num_figures=0
  )
  sharp = images.read_image(tmp_path / "set" / "target" / "0.png").rgb
  assert abs(scores[0].psnr - float(metrics.psnr(golden["result_inference"][0], sharp))) < 1e-3
  assert abs(scores[0].ssim - float(metrics.ssim(golden["result_inference"][0], sharp))) < 1e-4
