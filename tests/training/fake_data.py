"""A tiny stand-in for `ifan_jax.data.pipeline` with the same contract, for fast training tests.

Example `i` of step `s` depends only on `(seed, s, i)`, so every split of the global
batch over processes and devices sees the same global batch.
"""

import os
import signal

import jax
import numpy as np

KEYS = ("blurred", "left", "right", "sharp")
PAIR = ("blurred", "sharp")


def _blur(image):
  padded = np.pad(image, ((1, 1), (1, 1), (0, 0)), mode="edge")
  h, w = image.shape[:2]
  return sum(padded[dy : dy + h, dx : dx + w] for dy in range(3) for dx in range(3)) / 9


def example(seed, step, index, size):
  """A smooth sharp image, its blur, and the blur shifted by one pixel either way as the two views."""
  rng = np.random.default_rng([seed, step, index])
  sharp = _blur(rng.random((size, size, 3))).astype(np.float32)
  blurred = _blur(_blur(sharp)).astype(np.float32)
  return {
    "blurred": blurred,
    "left": np.roll(blurred, 1, axis=1),
    "right": np.roll(blurred, -1, axis=1),
    "sharp": sharp,
  }


class FakeTrainIterator:
  """This process's share of each batch, `[batch_size // processes, crop, crop, 3]`; can inject a NaN, a
  SIGTERM or a call.

  `call_at_step=(s, f)` calls `f()` as batch `s` is handed out: after the step before it
  (and its checkpoint) and before step `s` runs.
  """

  def __init__(
    self, *, batch_size, crop_size, seed, keys=KEYS, nan_at_step=None, sigterm_at_step=None, call_at_step=None
  ):
    self.batch_size, self.crop_size, self.seed, self.keys = batch_size, crop_size, seed, keys
    self.nan_at_step, self.sigterm_at_step = nan_at_step, sigterm_at_step
    self.call_at_step = call_at_step
    self.position = 0  # Batches handed out so far.

  def __iter__(self):
    return self

  def __next__(self):
    local = self.batch_size // jax.process_count()
    first = jax.process_index() * local
    examples = [example(self.seed, self.position, first + i, self.crop_size) for i in range(local)]
    batch = {key: np.stack([e[key] for e in examples]) for key in self.keys}
    self.position += 1
    if self.position == self.nan_at_step:
      batch["blurred"][...] = np.nan
    if self.position == self.sigterm_at_step:
      os.kill(os.getpid(), signal.SIGTERM)
    if self.call_at_step and self.position == self.call_at_step[0]:
      self.call_at_step[1]()
    return batch

  def get_state(self):
    return {"position": self.position}

  def set_state(self, state):
    self.position = state["position"]


class FakeDatasets:
  """Module-like: `train_iterator` and `eval_iterator` as the real pipeline.

  As there, a split that the dataset lacks is a ValueError: at once for training, at the
  first image for evaluation (`eval_iterator` is a generator); batches hold the views only when
  `views_for` says what needs them.
  """

  def __init__(self, *, eval_images=2, eval_size=(40, 48), splits=("train", "validation"), **injections):
    self.eval_images, self.eval_size, self.splits_held, self.injections = eval_images, eval_size, splits, injections

  def _check_split(self, dataset, split):
    if split not in self.splits_held:
      raise ValueError(f"dataset {dataset!r} has no split {split!r}; it has {', '.join(self.splits_held)}.")

  def splits(self, dataset, data_dir):
    del dataset, data_dir
    return tuple(self.splits_held)

  def train_iterator(
    self, *, dataset, data_dir, split, crop_size, batch_size, seed, num_workers, in_memory, augment, views_for
  ):
    del data_dir, num_workers, in_memory, augment
    self._check_split(dataset, split)
    keys = KEYS if views_for else PAIR
    return FakeTrainIterator(batch_size=batch_size, crop_size=crop_size, seed=seed, keys=keys, **self.injections)

  def eval_iterator(self, *, dataset, data_dir, split, limit):
    del data_dir
    self._check_split(dataset, split)
    count = self.eval_images if limit is None else min(limit, self.eval_images)
    for index in range(count):
      h, w = self.eval_size
      image = example(1234, 0, index, max(h, w))
      yield {key: value[None, :h, :w] for key, value in image.items()} | {"name": f"image{index}"}
