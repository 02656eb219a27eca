"""Input pipeline: batch layout, determinism, exact resume, per-host sharding, evaluation order."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow_datasets as tfds

from ifan_jax.data import pipeline
from ifan_jax.io import images
from tests.data import subprocesses

TINY = "synthetic_dp/tiny"


def _iterator(data_dir, **kwargs):
  args = dict(dataset=TINY, data_dir=data_dir, crop_size=32, batch_size=4, seed=0, num_threads=2, views_for="tests")
  return pipeline.train_iterator(**{**args, **kwargs})


def _take(iterator, n):
  return [next(iterator) for _ in range(n)]


def _assert_same(batches_a, batches_b):
  assert len(batches_a) == len(batches_b)
  for a, b in zip(batches_a, batches_b):
    assert a.keys() == b.keys()
    for k in a:
      np.testing.assert_array_equal(a[k], b[k])


def test_batches_are_this_process_share_of_the_global_batch(tiny_data_dir):
  batch = next(_iterator(tiny_data_dir, batch_size=8, process_count=2, process_index=1))
  assert set(batch) == {"blurred", "left", "right", "sharp"}
  for v in batch.values():
    assert v.shape == (4, 32, 32, 3) and v.dtype == np.float32
    assert v.min() >= 0.0 and v.max() <= 1.0
  with pytest.raises(ValueError, match="batch_size 5 is not divisible by the 2 processes"):
    _iterator(tiny_data_dir, batch_size=5, process_count=2)


def test_same_seed_same_batches_other_seed_other_batches(tiny_data_dir):
  first = _take(_iterator(tiny_data_dir), 3)
  _assert_same(first, _take(_iterator(tiny_data_dir), 3))
  other = _take(_iterator(tiny_data_dir, seed=1), 3)
  assert not np.array_equal(first[0]["sharp"], other[0]["sharp"])


def test_resume_sees_exactly_the_batches_it_would_have_seen(tiny_data_dir):
  iterator = _iterator(tiny_data_dir)
  _take(iterator, 5)  # past the first epoch of 8 examples
  state = json.loads(json.dumps(iterator.get_state()))
  expected = _take(iterator, 4)
  resumed = _iterator(tiny_data_dir)
  resumed.set_state(state)
  _assert_same(expected, _take(resumed, 4))
  with pytest.raises(ValueError, match="the saved iterator had seed=0, this one has seed=5"):
    _iterator(tiny_data_dir, seed=5).set_state(state)


def test_in_memory_gives_the_same_batches(tiny_data_dir):
  _assert_same(_take(_iterator(tiny_data_dir), 3), _take(_iterator(tiny_data_dir, in_memory=True), 3))
  with pytest.raises(ValueError, match="use num_workers=0"):
    _iterator(tiny_data_dir, in_memory=True, num_workers=2)


def _find(crop, sources):
  """Index of the source image that `crop` (the full height, any column offset) was cut from."""
  width = crop.shape[1]
  matches = [
    i
    for i, image in enumerate(sources)
    for x in range(image.shape[1] - width + 1)
    if np.array_equal(image[:, x : x + width], crop)
  ]
  assert len(matches) == 1
  return matches[0]


def test_two_hosts_cover_every_example_once_per_epoch(tiny_data_dir):
  source = tfds.data_source(TINY, data_dir=tiny_data_dir, split="train")
  sharp = [images.to_float(source[i]["sharp"]) for i in range(len(source))]
  per_host = {}
  for host in (0, 1):
    # 4 examples per host and 2 per host batch: one epoch is two batches.
    iterator = _iterator(tiny_data_dir, crop_size=64, batch_size=4, augment=False, process_index=host, process_count=2)
    epochs = []
    for _ in range(2):
      crops = np.concatenate([b["sharp"] for b in _take(iterator, 2)])
      epochs.append([_find(crop, sharp) for crop in crops])
    per_host[host] = epochs
    assert sorted(epochs[0]) == sorted(epochs[1])  # the same shard again in the next epoch
  assert sorted(per_host[0][0] + per_host[1][0]) == list(range(8))
  assert per_host[0][0] != per_host[0][1] or per_host[1][0] != per_host[1][1]  # reshuffled


def test_worker_processes_give_the_same_batches(tiny_data_dir):
  _assert_same(_take(_iterator(tiny_data_dir), 2), _take(_iterator(tiny_data_dir, num_workers=1), 2))


def test_eval_whole_images_in_file_order(tiny_data_dir):
  batches = list(pipeline.eval_iterator(dataset=TINY, data_dir=tiny_data_dir, split="validation"))
  assert [b["name"] for b in batches] == [f"validation_{i:05d}" for i in range(4)]
  for b in batches:
    for k in ("blurred", "left", "right", "sharp"):
      assert b[k].shape == (1, 64, 96, 3) and b[k].dtype == np.float32
  limited = list(pipeline.eval_iterator(dataset=TINY, data_dir=tiny_data_dir, split="test", limit=2))
  assert [b["name"] for b in limited] == ["test_00000", "test_00001"]
  with pytest.raises(ValueError, match="has no split 'val'"):
    next(pipeline.eval_iterator(dataset=TINY, data_dir=tiny_data_dir, split="val"))


def test_eval_crops_to_multiples_of_8_and_views_are_read_only_when_needed(tmp_path):
  from ifan_jax.data import build, dummy_data
  from ifan_jax.data.realdof import realdof_dataset_builder

  dummy_data.write_layout(realdof_dataset_builder.Builder, tmp_path / "manual", height=21, width=30)
  build.build("realdof", manual_dir=str(tmp_path / "manual"), data_dir=str(tmp_path), allow_partial=True)
  batch = next(pipeline.eval_iterator(dataset="realdof", data_dir=str(tmp_path)))
  assert set(batch) == {"blurred", "sharp", "name"} and batch["blurred"].shape == (1, 16, 24, 3)
  args = dict(dataset="realdof", data_dir=str(tmp_path), split="test", crop_size=16, batch_size=1, seed=0)
  assert set(next(pipeline.train_iterator(**args, num_threads=1))) == {"blurred", "sharp"}
  with pytest.raises(ValueError, match=r"'realdof' has no dual-pixel views \(left, right\), which the disparity loss"):
    pipeline.train_iterator(**args, views_for="the disparity loss")


_BUILD_WITH_THE_OTHER = """
import os, sys, time
from absl import logging
from ifan_jax.data import pipeline
data_dir, mine, theirs = sys.argv[1:]
logging.set_verbosity(logging.INFO)
open(mine, 'w').close()
deadline = time.monotonic() + 120
while not os.path.exists(theirs) and time.monotonic() < deadline:  # both call ensure_built at once
  time.sleep(0.01)
print(pipeline.ensure_built('synthetic_dp/tiny', data_dir).info.splits['train'].num_examples)
"""


def test_two_processes_on_a_fresh_data_dir_build_it_once(tmp_path):
  data_dir = tmp_path / "tfds"
  ready = [str(tmp_path / f"ready{i}") for i in range(2)]
  processes = [subprocesses.start(_BUILD_WITH_THE_OTHER, str(data_dir), ready[i], ready[1 - i]) for i in range(2)]
  outputs = [subprocesses.finish(p) for p in processes]
  assert [stdout.split()[-1] for stdout, _ in outputs] == ["8", "8"]
  logs = "".join(stderr for _, stderr in outputs)
  assert logs.count("Building synthetic_dp/tiny/") == 1, logs[-3000:]
  assert not list(data_dir.glob("synthetic_dp/tiny/incomplete*"))
  source = tfds.data_source(TINY, data_dir=str(data_dir), split="test")
  assert [source[i]["name"].decode() for i in range(len(source))] == [f"test_{i:05d}" for i in range(4)]


def test_a_relative_data_dir_is_the_one_in_the_working_directory_of_the_call(tmp_path, monkeypatch):
  (tmp_path / "work").mkdir()
  subprocess.run(
    [sys.executable, "-m", "ifan_jax.data.build", "synthetic_dp", "--config", "tiny", "--data_dir", "runs/tfds"],
    cwd=tmp_path / "work",
    check=True,
    capture_output=True,
    timeout=300,
    env={**os.environ, "PYTHONPATH": subprocesses.ROOT},
  )
  monkeypatch.chdir(tmp_path / "work")
  assert pipeline.ensure_built(TINY, "runs/tfds").info.splits["train"].num_examples == 8
  batches = _iterator("runs/tfds", num_threads=1)
  examples = pipeline.eval_iterator(dataset=TINY, data_dir="runs/tfds")
  monkeypatch.chdir(tmp_path)  # readers opened above still read runs/tfds of the first directory
  assert next(batches)["sharp"].shape == (4, 32, 32, 3)
  assert next(examples)["name"] == "test_00000"
  assert not (tmp_path / "runs").exists()
