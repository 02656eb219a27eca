"""`python -m ifan_jax.eval` on CUHK and PixelDP built from their checked-in dummy data (docs/evaluation.md):
outputs only (no ground truth), PixelDP turned 90 degrees counter-clockwise before the network and back,
and a dual-pixel model given PixelDP's views."""

import csv

import numpy as np
import pytest
from etils import epath

from ifan_jax import Deblurrer
from ifan_jax.data import build, dummy_data, pipeline
from ifan_jax.io import images
from ifan_jax.saved_models import model_dir
from tests.conftest import TINY_CONFIG, run_command, xavier_params


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
  folder = tmp_path_factory.mktemp("user")
  for name in ("cuhk", "pixeldp"):
    manual_dir = epath.Path(dummy_data.__file__).parent / name / "dummy_data"
    build.build(name, manual_dir=str(manual_dir), data_dir=str(folder / "tfds"), config=None, allow_partial=False)
  return folder


def _expected(deblurrer, example, rotate):
  """The network on the image (and views) turned counter-clockwise `rotate` quarter turns, turned back."""
  views = {k: np.rot90(example[k][0], rotate) for k in ("left", "right")} if deblurrer.config.dual_pixel else {}
  return np.rot90(deblurrer(np.rot90(example["blurred"][0], rotate), **views), -rotate)


@pytest.mark.parametrize(("dataset", "dual"), [("cuhk", False), ("pixeldp", False), ("pixeldp", True)])
def test_outputs_of_a_dataset_without_ground_truth(data_dir, tmp_path, dataset, dual):
  config = TINY_CONFIG.replace(dual_pixel=dual)
  model_dir.save_model(tmp_path / "model", config, xavier_params(config))
  out = f"out_{dataset}_{'dual' if dual else 'single'}"
  args = ["--checkpoint", tmp_path / "model", "--dataset", dataset, "--data_dir", "tfds", "--out", out]
  proc = run_command("ifan_jax.eval", [*args, "--figures", "0"], cwd=data_dir)
  assert proc.returncode == 0, proc.stderr[-3000:]
  out = data_dir / out
  with open(out / "per_image.csv") as f:
    rows = list(csv.DictReader(f))
  assert len(rows) == 2 and all(row["psnr"] == "" for row in rows), rows  # nothing to score against

  deblurrer = Deblurrer.from_checkpoint(tmp_path / "model")
  examples = pipeline.eval_iterator(dataset=dataset, data_dir=str(data_dir / "tfds"), split="test")
  for row, example in zip(rows, examples, strict=True):
    saved = images.read_image(out / "outputs" / f"{row['name']}.png")
    rounding = 0.5 / (2**saved.bit_depth - 1) + 1e-6
    rotate = int(dataset == "pixeldp")
    np.testing.assert_allclose(saved.rgb, _expected(deblurrer, example, rotate), rtol=0, atol=rounding)
    if rotate:  # the turn matters: unturned, the network gives something else
      assert np.abs(saved.rgb - _expected(deblurrer, example, 0)).max() > 2 * rounding
