"""Datasets of one's own photos (`pairs/NAME`), LFDOF, and mixtures of datasets in the input pipeline."""

import json
import os

import numpy as np
import pytest
import tensorflow_datasets as tfds
from etils import epath

from ifan_jax.data import build, dummy_data, mixture, pipeline
from ifan_jax.data.lfdof import lfdof_dataset_builder
from ifan_jax.data.pairs import pairs_dataset_builder
from ifan_jax.io import images
from tests.conftest import run_command
from tests.io.hostile_files import png_declaring

PAIRS = pairs_dataset_builder.Builder


def write_pairs(folder, *, views=False, bits=8, scenes=2, splits=("train", "validation", "test"), value=None):
  """A `pairs` folder of random images (or of constant ones, `value` in [0, 1]); returns it."""
  root = dummy_data.write_layout(PAIRS, folder, scenes=scenes, bits=bits)
  for split in pairs_dataset_builder.SPLITS:
    for sub in ([] if split in splits else [""]) + ([] if views else ["left", "right"]):
      if (root / split / sub).exists():
        (root / split / sub).rmtree()
  if value is not None:
    for path in root.glob("*/*/*.png"):
      dummy_data.write_pixels(path, np.full((20, 28, 3), round(value * 255), np.uint8))
  return root


def build_pairs(folder, name, data_dir):
  return build.build("pairs", manual_dir=str(folder), data_dir=str(data_dir), config=name)


def _read(path):
  return images.decode_rgb(images.read_bytes(path), str(path))


def test_two_pairs_datasets_built_from_another_directory_live_side_by_side(tmp_path):
  plain = write_pairs(tmp_path / "plain", bits=16, splits=("train", "test"))
  write_pairs(tmp_path / "dual", views=True)
  (tmp_path / "work").mkdir()
  for folder, name in (("../plain", "plain"), ("../dual", "dual")):
    proc = run_command(
      "ifan_jax.data.build",
      ["pairs", "--manual_dir", folder, "--config", name, "--data_dir", "../tfds"],
      cwd=tmp_path / "work",
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
  data_dir = str(tmp_path / "tfds")
  first, second = (tfds.builder(f"pairs/{n}", data_dir=data_dir) for n in ("plain", "dual"))
  assert set(first.info.features) == {"blurred", "sharp", "name"}
  assert set(second.info.features) == {"blurred", "sharp", "left", "right", "name"}
  assert {s: i.num_examples for s, i in first.info.splits.items()} == {"train": 2, "test": 2}
  assert set(second.info.splits) == {"train", "validation", "test"}
  example = first.as_data_source(split="test")[1]
  assert example["sharp"].dtype == np.uint16 and example["name"] == b"test_1"
  np.testing.assert_array_equal(example["sharp"], _read(plain / "test/target/test_1.png"))
  assert sorted(p.name for p in (tmp_path / "tfds" / "pairs").iterdir() if p.is_dir()) == ["dual", "plain"]


def test_a_pairs_dataset_takes_any_format_the_reader_reads_and_is_evaluated(tmp_path, tiny_model_dir):
  root = write_pairs(tmp_path / "photos", splits=("train", "test"))
  rng = np.random.default_rng(0)
  (root / "test/source/test_0.png").unlink()
  dummy_data.write_pixels(root / "test/source/test_0.jpg", dummy_data.random_image(rng, 20, 28))
  (root / "test/target/test_1.png").unlink()
  dummy_data.write_pixels(root / "test/target/test_1.tif", dummy_data.random_image(rng, 20, 28))
  build_pairs(root, "mixed_formats", tmp_path / "tfds")
  (tmp_path / "work").mkdir()
  proc = run_command(
    "ifan_jax.eval",
    ["--checkpoint", os.path.relpath(tiny_model_dir, tmp_path / "work"), "--dataset", "pairs/mixed_formats"]
    + ["--split", "test"]
    + ["--data_dir", "../tfds", "--out", "results", "--figures", "0"],
    cwd=tmp_path / "work",
  )
  assert proc.returncode == 0, proc.stderr[-3000:]
  summary = json.loads((tmp_path / "work/results/summary.json").read_text())
  assert summary["with_ground_truth"] == 2 and summary["dataset"] == "pairs/mixed_formats test"


@pytest.mark.parametrize(
  "damage,match",
  [
    (lambda root: (root / "train").rmtree(), r"(?s)missing folder .*photos/train\. Expected layout"),
    (lambda root: (root / "train/right").rmtree(), r"train/left has no partner folder .*train/right"),
    (lambda root: (root / "test/left").rmtree() or (root / "test/right").rmtree(), r"every split has the views"),
    (lambda root: (root / "train/target/train_1.png").unlink(), r"train_1.png has no partner named 'train_1'"),
  ],
)
def test_a_pairs_folder_that_does_not_fit_names_what_is_wrong(tmp_path, damage, match):
  root = write_pairs(tmp_path / "photos", views=True)
  damage(root)
  with pytest.raises((ValueError, FileNotFoundError), match=match):
    build_pairs(root, "mine", tmp_path / "tfds")
  assert not tfds.builder("pairs/mine", data_dir=str(tmp_path / "tfds")).is_prepared()


def test_a_pairs_dataset_of_mixed_bit_depths_names_both_files(tmp_path):
  root = write_pairs(tmp_path / "photos")
  deep = dummy_data.random_image(np.random.default_rng(0), 20, 28, bits=16)
  dummy_data.write_pixels(root / "test/target/test_1.png", deep)
  with pytest.raises(
    ValueError, match=r"test/target/test_1.png: has uint16 pixels, but .*train/source/train_0.png has"
  ):
    build_pairs(root, "mine", tmp_path / "tfds")


def test_the_build_command_needs_a_name_for_pairs(tmp_path):
  write_pairs(tmp_path / "photos")
  proc = run_command("ifan_jax.data.build", ["pairs", "--manual_dir", "photos"], cwd=tmp_path)
  assert proc.returncode != 0 and "pass --config NAME (then use it as pairs/NAME)" in proc.stderr
  with pytest.raises(ValueError, match="pairs needs a dataset name of 1 to 100 letters, digits"):
    build_pairs(tmp_path / "photos", "no spaces", tmp_path / "tfds")
  helps = [run_command(m, ["--help"], cwd=tmp_path).stdout for m in ("ifan_jax.data.build", "ifan_jax.eval")]
  assert all("lfdof" in text and "pairs" in text for text in helps)


def test_lfdof_pairs_every_defocused_image_with_its_scenes_ground_truth(tmp_path):
  manual = epath.Path(dummy_data.__file__).parent / "lfdof" / "dummy_data"
  builder = build.build("lfdof", manual_dir=str(manual), data_dir=str(tmp_path), allow_partial=True)
  assert {s: i.num_examples for s, i in builder.info.splits.items()} == {"train": 4, "test": 4}
  source = builder.as_data_source(split="test")
  names = [source[i]["name"].decode() for i in range(4)]
  assert names == ["test_0/test_0_00", "test_0/test_0_01", "test_1/test_1_00", "test_1/test_1_01"]
  root = manual / "LFDOF" / "test_data"
  np.testing.assert_array_equal(source[3]["blurred"], _read(root / "input/test_1/test_1_01.png"))
  for i in (2, 3):
    np.testing.assert_array_equal(source[i]["sharp"], _read(root / "ground_truth/test_1.png"))


def test_lfdof_checks_its_published_counts_and_that_every_scene_has_a_ground_truth(tmp_path):
  dummy_data.write_layout(lfdof_dataset_builder.Builder, tmp_path / "manual")
  with pytest.raises(ValueError, match=r"train_data/input: found 4 scenes, the published split has 11989"):
    build.build("lfdof", manual_dir=str(tmp_path / "manual"), data_dir=str(tmp_path / "tfds"))
  (tmp_path / "manual/LFDOF/test_data/ground_truth/test_1.png").unlink()
  with pytest.raises(ValueError, match=r"input/test_1 has no partner named 'test_1' in .*test_data/ground_truth"):
    build.build("lfdof", manual_dir=str(tmp_path / "manual"), data_dir=str(tmp_path / "tfds"), allow_partial=True)


def test_mixture_syntax_keeps_tfds_versions_and_names_what_is_wrong():
  assert mixture.parse("dpdd") == (mixture.Member("dpdd", 1.0),)
  assert mixture.parse("lfdof@0.7, dpdd/16bit:1.0.0@0.3") == (
    mixture.Member("lfdof", 0.7),
    mixture.Member("dpdd/16bit:1.0.0", 0.3),
  )
  for bad in ("lfdof@", "lfdof@-1", "lfdof@x,dpdd", "lfdof,,dpdd", "dpdd,dpdd@2"):
    with pytest.raises(ValueError, match="dataset"):
      mixture.parse(bad)


@pytest.fixture(scope="module")
def dark_and_bright(tmp_path_factory):
  """A data_dir with `pairs/dark` (images at 0.1, no views) and `pairs/bright` (0.9, with views)."""
  tmp = tmp_path_factory.mktemp("mixture")
  build_pairs(write_pairs(tmp / "dark", value=0.1, scenes=3), "dark", tmp / "tfds")
  build_pairs(write_pairs(tmp / "bright", value=0.9, views=True), "bright", tmp / "tfds")
  return str(tmp / "tfds")


def _mixed(data_dir, **kwargs):
  args = dict(dataset="pairs/dark@0.7,pairs/bright@0.3", data_dir=data_dir, crop_size=16, batch_size=10, seed=0)
  return pipeline.train_iterator(**{**args, "augment": False, "num_threads": 1, **kwargs})


def test_a_mixture_samples_its_members_by_weight_and_resumes_exactly(dark_and_bright):
  stream = _mixed(dark_and_bright)
  batches = [next(stream)["blurred"] for _ in range(100)]
  dark = sum(int(np.sum(batch.mean(axis=(1, 2, 3)) < 0.5)) for batch in batches)
  assert abs(dark / 1000 - 0.7) < 0.01, dark
  resumed = _mixed(dark_and_bright)
  again = _mixed(dark_and_bright)
  for _ in range(7):
    next(again)
  resumed.set_state(json.loads(json.dumps(again.get_state())))
  for expected in batches[7:12]:
    np.testing.assert_array_equal(next(resumed)["blurred"], expected)
  with pytest.raises(ValueError, match="cannot resume: the saved iterator had dataset="):
    _mixed(dark_and_bright, dataset="pairs/dark@0.5,pairs/bright@0.5").set_state(again.get_state())


def test_every_member_of_a_mixture_must_have_what_the_training_needs(dark_and_bright):
  with pytest.raises(ValueError, match=r"'pairs/dark' has no dual-pixel views \(left, right\), which the disparity"):
    _mixed(dark_and_bright, views_for="the disparity loss")
  batch = next(_mixed(dark_and_bright, dataset="pairs/bright", views_for="the disparity loss"))
  assert set(batch) == {"blurred", "left", "right", "sharp"}


def _pair_count(data_dir, name):
  builder = tfds.builder(f"pairs/{name}", data_dir=str(data_dir))
  return {split: info.num_examples for split, info in builder.info.splits.items()}


def test_building_a_name_again_from_a_changed_folder_is_refused_until_overwrite(tmp_path):
  """A pair added, or another folder under the same NAME, used to print "Built" and keep the old data."""
  root = write_pairs(tmp_path / "photos", splits=("train",), scenes=2)
  build_pairs(root, "good", tmp_path / "tfds")
  build_pairs(root, "good", tmp_path / "tfds")  # Unchanged: kept as it is, no error.
  version_dir = epath.Path(tfds.builder("pairs/good", data_dir=str(tmp_path / "tfds")).data_path)
  before = {p.name: p.read_bytes() for p in version_dir.iterdir()}
  rng = np.random.default_rng(1)
  for folder in ("source", "target"):
    dummy_data.write_pixels(root / "train" / folder / "train_9.png", dummy_data.random_image(rng, 20, 28))
  with pytest.raises(
    ValueError,
    match=r"pairs/good/1.0.0 \(in .*\) was built from .*photos, and the images .* differ from those: 2 files added",
  ):
    build_pairs(root, "good", tmp_path / "tfds")
  other = write_pairs(tmp_path / "other", splits=("train",), scenes=3)
  with pytest.raises(
    ValueError,
    match=r"2 files added \(train/source/train_2.png, train/target/train_2.png\); 4 files changed \(.* and 1 more\)",
  ):
    build_pairs(other, "good", tmp_path / "tfds")
  assert {p.name: p.read_bytes() for p in version_dir.iterdir()} == before
  assert _pair_count(tmp_path / "tfds", "good") == {"train": 2}

  (root / "train/target/train_9.png").write_bytes(b"not an image")  # A rebuild that fails keeps the old dataset.
  with pytest.raises(ValueError, match="train_9.png: cannot decode the image"):
    build.build("pairs", manual_dir=str(root), data_dir=str(tmp_path / "tfds"), config="good", overwrite=True)
  assert {p.name: p.read_bytes() for p in version_dir.iterdir()} == before
  assert sorted(p.name for p in version_dir.parent.iterdir()) == ["1.0.0"]

  dummy_data.write_pixels(root / "train/target/train_9.png", dummy_data.random_image(rng, 20, 28))
  build.build("pairs", manual_dir=str(root), data_dir=str(tmp_path / "tfds"), config="good", overwrite=True)
  assert _pair_count(tmp_path / "tfds", "good") == {"train": 3}
  build_pairs(root, "good", tmp_path / "tfds")  # The record is the new folder's: no error.


@pytest.mark.parametrize("relative", [False, True])
@pytest.mark.parametrize(
  "config, message",
  [
    (
      "x:9.9.9",
      "pairs needs a dataset name of 1 to 100 letters, digits, '_', '.' or '-' (starting with a letter or "
      "digit): pairs/NAME (build with --config NAME), got 'x:9.9.9'.",
    ),
    ("n" * 300, "pairs needs a dataset name of 1 to 100 letters"),
    ("layout", "has no partner named 'train_1'"),
    ("bomb", "bomb.png: 30000x30000 pixels (900.0 megapixels), more than the 200 megapixels accepted (--max_pixels)."),
  ],
  ids=["version", "long_name", "layout", "bomb"],
)
def test_the_build_command_says_what_is_wrong_in_one_line(tmp_path, relative, config, message):
  root = write_pairs(tmp_path / "photos", splits=("train",))
  if config == "layout":
    (root / "train/target/train_1.png").unlink()
  if config == "bomb":
    for folder in ("source", "target"):
      (root / "train" / folder / "bomb.png").write_bytes(png_declaring(30000, 30000))
  manual_dir, data_dir = ("photos", "tfds") if relative else (root, tmp_path / "tfds")
  proc = run_command(
    "ifan_jax.data.build",
    ["pairs", "--manual_dir", manual_dir, "--config", config, "--data_dir", data_dir],
    cwd=tmp_path,
  )
  assert proc.returncode == 1
  last = proc.stderr.strip().splitlines()[-1]
  assert last.startswith("ifan_jax.data.build: ") and message in last, proc.stderr[-3000:]
  assert "Traceback" not in proc.stderr and "--manual_dir:" not in proc.stderr  # no traceback, no --help
  assert not (tmp_path / "tfds" / "pairs" / "x").exists()
