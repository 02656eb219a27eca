"""Training input pipeline throughput: augmented 256x256 crops from 1680x1120 PNG sources (DPDD's size).

  python benchmarks/input_pipeline.py [--scenes 8] [--batches 40] [--num_workers 0]

Writes `--scenes` DPDD-layout scenes of 1680x1120 8-bit PNGs (scikit-image photographs, upscaled,
with fine grain so that they compress like photographs), builds them with the dpdd builder into a
temporary data_dir, then prints examples per second of `train_iterator`, reading from the array_record
files (decoding every PNG) and with `in_memory=True` (decoded once).
"""

import os
import tempfile
import time

import numpy as np
from absl import app, flags
from etils import epath

from ifan_jax.data import build, dummy_data, pipeline, srgb
from ifan_jax.data.dpdd import dpdd_dataset_builder
from ifan_jax.data.synthetic_dp import textures

_SCENES = flags.DEFINE_integer("scenes", 8, "Training scenes to generate.")
_HEIGHT = flags.DEFINE_integer("height", 1120, "Source image height.")
_WIDTH = flags.DEFINE_integer("width", 1680, "Source image width.")
_CROP = flags.DEFINE_integer("crop_size", 256, "Training crop size.")
_BATCH = flags.DEFINE_integer("batch_size", 8, "Global batch size (the reference's).")
_BATCHES = flags.DEFINE_integer("batches", 40, "Batches timed, after a warm-up of a few.")
_WORKERS = flags.DEFINE_integer("num_workers", 0, "Worker processes when not in memory (0: threads only).")
_THREADS = flags.DEFINE_integer("num_threads", None, "Threads per process (default: the number of CPUs).")


def _write_sources(manual_dir: epath.Path, count: int, height: int, width: int):
  """DPDD-layout train split of `count` scenes of photograph-like PNGs."""
  rng = np.random.default_rng(0)
  root = manual_dir / dpdd_dataset_builder.Builder.ROOT
  for i in range(count):
    for folder in dpdd_dataset_builder.Builder.SPLIT_FOLDERS["train"].values():
      linear = textures.photo_texture(rng, height, width)
      grain_noise = rng.normal(0, 0.01, linear.shape).astype(np.float32)
      image = np.round(srgb.from_linear(np.clip(linear + grain_noise, 0.0, 1.0)) * 255).astype(np.uint8)
      dummy_data.write_pixels(root / folder / f"{i:04d}.png", image)
  for split in ("validation", "test"):  # the builder wants every split; one tiny scene each
    for folder in dpdd_dataset_builder.Builder.SPLIT_FOLDERS[split].values():
      dummy_data.write_pixels(root / folder / "0000.png", dummy_data.random_image(rng, 16, 16))


def _throughput(data_dir: str, in_memory: bool) -> tuple[float, float]:
  """Examples per second of wall time, and CPU milliseconds per example (all threads and workers' own)."""
  iterator = pipeline.train_iterator(
    dataset="dpdd",
    data_dir=data_dir,
    crop_size=_CROP.value,
    batch_size=_BATCH.value,
    seed=0,
    in_memory=in_memory,
    num_workers=0 if in_memory else _WORKERS.value,
    num_threads=_THREADS.value,
    views_for="the reference recipe's disparity loss",  # all four images, as the reference trains
  )
  for _ in range(3):
    next(iterator)
  start, cpu = time.perf_counter(), time.process_time()
  for _ in range(_BATCHES.value):
    next(iterator)
  examples = _BATCHES.value * _BATCH.value
  return examples / (time.perf_counter() - start), (time.process_time() - cpu) * 1000 / examples


def main(argv):
  del argv
  with tempfile.TemporaryDirectory() as tmp:
    manual_dir, data_dir = epath.Path(tmp) / "manual", str(epath.Path(tmp) / "data")
    _write_sources(manual_dir, _SCENES.value, _HEIGHT.value, _WIDTH.value)
    build.build("dpdd", manual_dir=str(manual_dir), data_dir=data_dir, allow_partial=True)
    print(
      f"sources: {_SCENES.value} scenes x 4 PNGs of {_WIDTH.value}x{_HEIGHT.value}; "
      f"{_CROP.value}x{_CROP.value} crops, augmentation on, batch {_BATCH.value}"
    )
    print(f"{os.cpu_count()} CPUs, load average before timing {os.getloadavg()[0]:.1f}")
    for in_memory in (False, True):
      rate, cpu_ms = _throughput(data_dir, in_memory)
      print(f"in_memory={in_memory}: {rate:.1f} examples/s ({cpu_ms:.1f} CPU ms per example in this process)")


if __name__ == "__main__":
  app.run(main)
