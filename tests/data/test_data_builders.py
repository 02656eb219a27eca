"""The folder-dataset builders on generated layouts: what they store and every bad-input case."""

import logging

import numpy as np
import pytest
import tensorflow_datasets as tfds
from etils import epath

from ifan_jax.data import build, dummy_data, folders, pipeline
from ifan_jax.data.dpdd import dpdd_dataset_builder
from ifan_jax.io import images
from tests.data import subprocesses

DPDD = dpdd_dataset_builder.Builder


def _build(name, manual_dir, data_dir, config=None, allow_partial=True):
  return build.build(
    name, manual_dir=str(manual_dir), data_dir=str(data_dir), config=config, allow_partial=allow_partial
  )


def _not_built(name, data_dir, config=None):
  builder = tfds.builder(name, config=config, data_dir=str(data_dir), file_format="array_record")
  return not builder.is_prepared()


@pytest.mark.parametrize(
  "name,splits",
  [
    ("dpdd", {"train": 2, "validation": 2, "test": 2}),
    ("realdof", {"test": 2}),
    ("cuhk", {"test": 2}),
    ("pixeldp", {"test": 2}),
  ],
)
def test_checked_in_dummy_data_builds(tmp_path, name, splits):
  manual_dir = epath.Path(dummy_data.__file__).parent / name / "dummy_data"
  builder = _build(name, manual_dir, tmp_path)
  assert {s: i.num_examples for s, i in builder.info.splits.items()} == splits
  features = set(builder.info.features)
  expected = {
    "dpdd": {"blurred", "left", "right", "sharp"},
    "realdof": {"blurred", "sharp"},
    "cuhk": {"blurred"},
    "pixeldp": {"blurred", "left", "right"},
  }[name]
  assert features == expected | {"name"}


_PLAIN_TFDS = """
import sys
import tensorflow_datasets as tfds
import ifan_jax.data  # registers the builders
data_dir, manual_dir = sys.argv[1:]
builder = tfds.builder('dpdd', data_dir=data_dir, allow_partial=True)
builder.download_and_prepare(download_config=tfds.download.DownloadConfig(manual_dir=manual_dir))
source = tfds.data_source('dpdd', data_dir=data_dir, split='test')
print('tensorflow' in sys.modules, len(source), source[1]['name'].decode())
"""


def test_plain_tfds_calls_build_and_read_without_tensorflow(tmp_path):
  manual_dir = epath.Path(dummy_data.__file__).parent / "dpdd" / "dummy_data"
  stdout, _ = subprocesses.run(_PLAIN_TFDS, str(tmp_path), str(manual_dir), hide_tensorflow=True)
  assert stdout.split()[-3:] == ["False", "2", "test_1"]
  example = tfds.builder("dpdd", data_dir=str(tmp_path)).as_data_source(split="test")[1]
  np.testing.assert_array_equal(example["sharp"], _read(manual_dir / "DPDD/test_c/target/test_1.png"))


def test_dpdd_stores_each_file_in_its_feature_in_file_order(tmp_path):
  root = dummy_data.write_layout(DPDD, tmp_path / "manual", scenes=3, seed=7)
  builder = _build("dpdd", tmp_path / "manual", tmp_path / "data")
  source = builder.as_data_source(split="validation")
  assert [source[i]["name"].decode() for i in range(3)] == ["validation_0", "validation_1", "validation_2"]
  example = source[1]
  np.testing.assert_array_equal(example["blurred"], _read(root / "val_c/source/validation_1.png"))
  np.testing.assert_array_equal(example["sharp"], _read(root / "val_c/target/validation_1.png"))
  np.testing.assert_array_equal(example["left"], _read(root / "val_l/source/validation_1_L.png"))
  np.testing.assert_array_equal(example["right"], _read(root / "val_r/source/validation_1_R.png"))


def _read(path):
  return images.decode_rgb(images.read_bytes(path), str(path))


def test_dpdd_16bit_keeps_16_bits(tmp_path):
  root = dummy_data.write_layout(DPDD, tmp_path / "manual", bits=16)
  builder = _build("dpdd", tmp_path / "manual", tmp_path / "data", config="16bit")
  example = builder.as_data_source(split="test")[0]
  assert example["sharp"].dtype == np.uint16
  np.testing.assert_array_equal(example["sharp"], _read(root / "test_c/target/test_0.png"))
  batch = next(pipeline.eval_iterator(dataset="dpdd/16bit", data_dir=str(tmp_path / "data")))
  np.testing.assert_allclose(batch["sharp"][0], example["sharp"][:16, :24] / 65535, rtol=1e-6)


def test_cuhk_accepts_jpeg_and_grey(tmp_path):
  root = tmp_path / "manual" / "CUHK"
  rng = np.random.default_rng(0)
  dummy_data.write_pixels(epath.Path(root / "a.jpg"), dummy_data.random_image(rng, 16, 16))
  dummy_data.write_pixels(epath.Path(root / "b.png"), rng.integers(0, 255, (16, 16)).astype(np.uint8))
  source = _build("cuhk", tmp_path / "manual", tmp_path / "data").as_data_source(split="test")
  assert [source[i]["blurred"].shape for i in range(2)] == [(16, 16, 3)] * 2


def test_manual_dir_may_be_the_dataset_folder_itself(tmp_path):
  root = dummy_data.write_layout(DPDD, tmp_path / "manual")
  assert _build("dpdd", root, tmp_path / "data").info.splits["train"].num_examples == 2


def _expect_failure(tmp_path, match, config=None, allow_partial=True):
  with pytest.raises((ValueError, FileNotFoundError), match=match):
    _build("dpdd", tmp_path / "manual", tmp_path / "data", config=config, allow_partial=allow_partial)
  assert _not_built("dpdd", tmp_path / "data", config)


def test_published_counts_are_enforced_unless_partial(tmp_path):
  dummy_data.write_layout(DPDD, tmp_path / "manual")
  _expect_failure(
    tmp_path, r"train_c/source: found 2 scenes, the published split has 350.*allow_partial", allow_partial=False
  )


def test_missing_folder(tmp_path):
  root = dummy_data.write_layout(DPDD, tmp_path / "manual")
  (root / "test_r" / "source").rmtree()
  _expect_failure(tmp_path, "missing folder .*test_r/source")


def test_missing_dataset_root_shows_the_layout(tmp_path):
  (tmp_path / "manual" / "RealDOF").mkdir(parents=True)  # another dataset's download
  _expect_failure(tmp_path, r"(?s)missing folder .*manual/DPDD.*train_l/source/\*\.png")


def test_unpaired_file(tmp_path):
  root = dummy_data.write_layout(DPDD, tmp_path / "manual")
  (root / "train_l/source/train_1_L.png").rename(root / "train_l/source/other_L.png")
  _expect_failure(tmp_path, "has no partner named")


def test_scene_with_images_of_different_sizes(tmp_path):
  root = dummy_data.write_layout(DPDD, tmp_path / "manual")
  square = dummy_data.random_image(np.random.default_rng(), 20, 20)
  dummy_data.write_pixels(root / "test_c/target/test_1.png", square)
  _expect_failure(
    tmp_path,
    r"test_c/target/test_1.png: is 20x20, but test_1.png of the same scene "
    r"'test_1' is 20x28",
  )


def test_truncated_image_fails_the_whole_build(tmp_path):
  root = dummy_data.write_layout(DPDD, tmp_path / "manual")
  path = root / "test_l/source/test_1_L.png"  # the last split written: earlier splits were complete
  path.write_bytes(path.read_bytes()[:100])
  _expect_failure(tmp_path, "test_1_L.png: cannot decode")
  assert not list((tmp_path / "data").glob("dpdd/*/1.0.0/dataset_info.json"))


def test_wrong_bit_depth(tmp_path):
  dummy_data.write_layout(DPDD, tmp_path / "manual", bits=8)
  _expect_failure(tmp_path, "has uint8 pixels, this dataset config expects uint16", config="16bit")


def test_two_files_of_one_scene_in_a_folder(tmp_path):
  root = dummy_data.write_layout(DPDD, tmp_path / "manual")
  (root / "train_c/source/train_0.png").copy(root / "train_c/source/train_0_C.png")
  _expect_failure(tmp_path, "belong to the same scene 'train_0'")


def test_unbuilt_dataset_says_how_to_build_it(tmp_path):
  with pytest.raises(FileNotFoundError, match=r"python -m ifan_jax.data.build realdof --manual_dir DIR"):
    pipeline.ensure_built("realdof", str(tmp_path))
  with pytest.raises(ValueError, match="unknown dataset 'imagenet'"):
    pipeline.ensure_built("imagenet", str(tmp_path))


def test_folders_list_only_images_the_reader_reads(tmp_path, caplog):
  rng = np.random.default_rng(0)
  for name in ("b.png", "c.TIF", ".hidden.png"):
    dummy_data.write_pixels(epath.Path(tmp_path / name), dummy_data.random_image(rng, 4, 4))
  (tmp_path / "a.bmp").write_bytes(b"BM: a format the reader does not take")
  (tmp_path / "notes.txt").write_text("not an image")
  with caplog.at_level(logging.WARNING):
    listed = folders.image_paths(epath.Path(tmp_path))
  assert [p.name for p in listed] == ["b.png", "c.TIF"]
  assert [r.getMessage() for r in caplog.records] == [
    f"{tmp_path}: skipping what is not a PNG, JPEG or TIFF image: a.bmp, notes.txt."
  ]
  for path in listed:
    images.read_image(path)
