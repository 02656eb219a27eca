"""Input pipeline: augmented training batches and whole evaluation images, read from TFDS array_record.

Training uses grain over `tfds.data_source` (no TensorFlow): each host reads its own shard of the
split, reshuffled every epoch; every example's augmentation is drawn from a generator seeded by its
position in the stream, so the batches depend only on the seed and the iterator state can be saved
and restored exactly. A mixture of datasets (`ifan_jax.data.mixture`) interleaves the members'
streams in the proportions of their weights, each member reshuffled every epoch of its own: the
position in the mixed stream still says everything.
"""

import concurrent.futures
import functools
import os
import sys
from collections.abc import Iterator

import grain
import jax
import numpy as np
import tensorflow_datasets as tfds
import tqdm
from absl import flags

from ifan_jax.data import augment as augment_lib
from ifan_jax.data import mixture, registry, storage
from ifan_jax.io import images, paths

PAIR = ("blurred", "sharp")  # what training always needs
VIEWS = ("left", "right")  # the dual-pixel views, which only some trainings need
IMAGE_FEATURES = (*PAIR, *VIEWS)


def ensure_built(dataset: str, data_dir: str | None, **builder_kwargs) -> tfds.core.DatasetBuilder:
  """The TFDS builder of `dataset` ("name" or "name/config"), prepared in `data_dir` (None: TFDS's default).

  A relative `data_dir` is taken from the current directory, once: the builder holds it absolute.
  `synthetic_dp` is rendered here if missing (no download needed), by one process at a time; the
  others must have been built from their manual downloads, and a clear error says how.
  """
  entry = registry.entry(dataset)
  data_dir = paths.absolute_str(data_dir)  # the readers open their files later, maybe from elsewhere
  open_builder = functools.partial(tfds.builder, dataset, data_dir=data_dir, **builder_kwargs)
  builder = open_builder()
  if builder.is_prepared():
    return builder
  if entry.generated:
    return storage.prepare_once(builder, open_builder)
  config = f" --config {builder.builder_config.name}" if builder.builder_config else ""
  where = f" --data_dir {data_dir}" if data_dir else ""
  origin = "folder" if entry.user_named else "download"
  raise FileNotFoundError(
    f"dataset {dataset!r} is not built in {builder.data_dir}. Build it from its {origin} with:\n"
    f"  python -m ifan_jax.data.build {entry.name} --manual_dir DIR{config}{where}\n"
    f"where DIR holds the files laid out as follows:\n{builder.MANUAL_DOWNLOAD_INSTRUCTIONS}"
  )


def splits(dataset: str, data_dir: str | None) -> tuple[str, ...]:
  """The splits `dataset` has (rendered first if it is `synthetic_dp` and missing)."""
  return tuple(ensure_built(dataset, data_dir).info.splits)


def check_split(builder: tfds.core.DatasetBuilder, dataset: str, split: str):
  """Raises a ValueError naming the splits `dataset` has, unless it has `split`."""
  if split not in builder.info.splits:
    raise ValueError(f"dataset {dataset!r} has no split {split!r}; it has {', '.join(builder.info.splits)}.")


def _data_source(dataset: str, data_dir: str | None, split: str):
  """The random-access source of `split` (decoding on access) and the features its examples have."""
  builder = ensure_built(dataset, data_dir)
  check_split(builder, dataset, split)
  return builder.as_data_source(split=split), set(builder.info.features)


class _SelectImages(grain.transforms.Map):
  """A decoded example -> its training images (drops the name, and the views when they are not needed)."""

  def __init__(self, features: tuple[str, ...]):
    self._features = features

  def map(self, example: dict) -> dict[str, np.ndarray]:
    return {f: example[f] for f in self._features}


class _EpochPermutation(grain.transforms.Map):
  """Position in the endless stream -> index into the shard: a new permutation every epoch.

  (grain's own `shuffle` costs milliseconds per element here, more than the augmentation.)
  """

  def __init__(self, size: int, seed: int):
    self._size = size
    self._seed = seed
    self._cache = {}

  def map(self, position: int) -> int:
    epoch, offset = divmod(position, self._size)
    permutation = self._cache.get(epoch)
    if permutation is None:
      permutation = np.random.default_rng([self._seed, epoch]).permutation(self._size)
      self._cache = {epoch: permutation}  # one epoch at a time; a race only recomputes it
    return int(permutation[offset])


class _Lookup(grain.transforms.Map):
  """Index -> example of `dataset`."""

  def __init__(self, dataset: grain.MapDataset):
    self._dataset = dataset

  def map(self, index: int):
    return self._dataset[index]


class _Augment(grain.transforms.RandomMap):
  """One example (feature -> `[H, W, 3]` uint8/uint16) to augmented `[crop, crop, 3]` float32 crops."""

  def __init__(self, crop_size: int, augment: bool):
    self._crop_size = crop_size
    self._augment = augment

  def random_map(self, example: dict, rng: np.random.Generator) -> dict[str, np.ndarray]:
    h, w = example["blurred"].shape[:2]
    aug = augment_lib.draw(rng, h, w, self._crop_size, self._augment)
    return augment_lib.apply(example, aug, self._crop_size)


def _decode_all(shard: grain.MapDataset, threads: int) -> list[dict[str, np.ndarray]]:
  """Every example of `shard`, decoded, in order (threads: OpenCV decodes without holding the GIL)."""
  with concurrent.futures.ThreadPoolExecutor(threads) as pool:
    return list(
      tqdm.tqdm(
        pool.map(shard.__getitem__, range(len(shard))), total=len(shard), desc="decoding into memory", unit="example"
      )
    )


class TrainIterator(Iterator):
  """Infinite iterator of training batches with a JSON-serialisable, restorable state."""

  def __init__(self, dataset: grain.IterDataset, fingerprint: dict):
    self._iterator = iter(dataset)
    self._fingerprint = fingerprint

  def __next__(self) -> dict[str, np.ndarray]:
    return next(self._iterator)

  def get_state(self) -> dict:
    """The position in the stream, plus the settings it is only valid for."""
    return {"settings": dict(self._fingerprint), "grain": self._iterator.get_state()}

  def set_state(self, state: dict):
    """Continues from `state` (from `get_state` of an iterator with the same settings).

    Settings saved by earlier versions that no longer shape the stream are not compared.
    """
    for key, value in state["settings"].items():
      if key in self._fingerprint and self._fingerprint[key] != value:
        raise ValueError(
          f"cannot resume: the saved iterator had {key}={value!r}, this one has {key}={self._fingerprint.get(key)!r}."
        )
    self._iterator.set_state(state["grain"])


def _host_shard(dataset, data_dir, split, process_index, process_count, views_for):
  """The split's source and this host's shard of it (examples `process_index::process_count`)."""
  source, features = _data_source(dataset, data_dir, split)
  missing = [f for f in PAIR if f not in features]
  if missing:
    raise ValueError(f"dataset {dataset!r} cannot train IFAN: it has no {', '.join(missing)}.")
  missing = [f for f in VIEWS if f not in features]
  if views_for and missing:
    raise ValueError(
      f"dataset {dataset!r} has no dual-pixel views ({', '.join(missing)}), which {views_for} needs; "
      "train on datasets that have them, or without what needs them."
    )
  selected = IMAGE_FEATURES if views_for else PAIR
  shard = grain.MapDataset.source(source)[process_index::process_count].map(_SelectImages(selected))
  if not len(shard):
    raise ValueError(
      f"host {process_index} of {process_count} gets no example of {dataset!r} {split!r} ({len(source)} examples)."
    )
  return source, shard


def _endless(shard: grain.MapDataset, seed: int) -> grain.MapDataset:
  """The examples of `shard` forever, reshuffled every epoch: position in the stream -> example."""
  return grain.MapDataset.range(sys.maxsize).map(_EpochPermutation(len(shard), seed)).map(_Lookup(shard))


def _batches(shards, weights, *, seed, crop_size, augment, batch_size, num_threads, num_workers):
  """The endless stream of augmented batches of `shards` mixed by `weights`, prepared in the background.

  Member `i` is reshuffled with seed `seed + i`; grain's mix interleaves the members in exact
  proportions (weights 0.7 and 0.3: 7 of every 10 examples from the first), a function of the position.
  """
  streams = [_endless(shard, seed + i) for i, shard in enumerate(shards)]
  mixed = streams[0] if len(streams) == 1 else grain.MapDataset.mix(streams, weights)
  ds = mixed.random_map(_Augment(crop_size, augment), seed=seed).batch(batch_size, drop_remainder=True)
  stream = ds.to_iter_dataset(grain.ReadOptions(num_threads=num_threads, prefetch_buffer_size=2 * num_threads))
  if num_workers:
    if not flags.FLAGS.is_parsed():
      # grain's workers read absl flags; outside absl.app, let them see the defaults.
      flags.FLAGS.mark_as_parsed()
    stream = stream.mp_prefetch(grain.MultiprocessingOptions(num_workers=num_workers))
  return stream


def _check_pipeline_options(batch_size, process_count, in_memory, num_workers):
  if batch_size % process_count:
    raise ValueError(f"batch_size {batch_size} is not divisible by the {process_count} processes.")
  if in_memory and num_workers:
    raise ValueError(
      f"in_memory=True keeps decoded images in this process; use num_workers=0 with it (got num_workers={num_workers})."
    )


def _member_shards(members, data_dir, split, process_index, process_count, views_for, in_memory, num_threads):
  """`(sizes, shards)`: each mixture member's example count and this host's shard of it (decoded into
  memory when `in_memory`)."""
  sizes, shards = [], []
  for member in members:
    source, shard = _host_shard(member.dataset, data_dir, split, process_index, process_count, views_for)
    sizes.append(len(source))
    shards.append(grain.MapDataset.source(_decode_all(shard, num_threads)) if in_memory else shard)
  return sizes, shards


def train_iterator(
  *,
  dataset: str,
  data_dir: str | None,
  split: str = "train",
  crop_size: int = 256,
  batch_size: int,
  seed: int,
  num_workers: int = 0,
  in_memory: bool = False,
  augment: bool = True,
  process_index: int | None = None,
  process_count: int | None = None,
  num_threads: int | None = None,
  views_for: str | None = None,
) -> TrainIterator:
  """Infinite augmented training batches of this host's shard of `split`.

  `dataset` is one dataset or a mixture (`ifan_jax.data.mixture`: "lfdof@0.7,dpdd@0.3"), each member
  read from its own `split`. `batch_size` is global. Yields {'blurred', 'sharp'}, plus 'left' and
  'right' when `views_for` names what needs them (e.g. "the disparity loss", quoted by the error for
  a dataset without views): float32 in [0, 1] of shape `[batch_size // process_count, crop_size,
  crop_size, 3]` (the training step splits it over the devices).
  The host reads examples `process_index::process_count` (default: this JAX process), reshuffled every epoch.
  `num_workers` > 0 prepares batches in that many worker processes (each decoding with threads);
  `in_memory` decodes the shard once into this process's memory and prepares batches in threads
  (it cannot be combined with worker processes, which would each hold a copy).
  `num_threads`: threads per process (default: the number of CPUs).
  """
  process_index = jax.process_index() if process_index is None else process_index
  process_count = jax.process_count() if process_count is None else process_count
  _check_pipeline_options(batch_size, process_count, in_memory, num_workers)
  num_threads = num_threads or os.cpu_count()
  members = mixture.parse(dataset)
  sizes, shards = _member_shards(
    members, data_dir, split, process_index, process_count, views_for, in_memory, num_threads
  )
  host_seed = int(np.random.SeedSequence([seed, process_index]).generate_state(1)[0])
  stream = _batches(
    shards,
    [m.weight for m in members],
    seed=host_seed,
    crop_size=crop_size,
    augment=augment,
    batch_size=batch_size // process_count,
    num_threads=num_threads,
    num_workers=num_workers,
  )
  fingerprint = dict(
    dataset=dataset,
    split=split,
    crop_size=crop_size,
    batch_size=batch_size,
    seed=seed,
    augment=augment,
    process_index=process_index,
    process_count=process_count,
    num_workers=num_workers,
    examples=sizes[0] if len(sizes) == 1 else sizes,
    views=bool(views_for),
  )
  return TrainIterator(stream, fingerprint)


def eval_iterator(
  *, dataset: str, data_dir: str | None, split: str = "test", limit: int | None = None
) -> Iterator[dict]:
  """Whole images of `split` in file order: float32 `[1, H, W, 3]` in [0, 1], H and W cut to multiples of 8.

  Yields 'blurred' and, where the dataset has them, 'left', 'right' and 'sharp', plus 'name' (str).
  The dataset is opened (and a relative `data_dir` resolved) by the call, not by the first `next`.
  """
  source, _ = _data_source(dataset, data_dir, split)
  count = len(source) if limit is None else min(limit, len(source))
  return (_eval_example(source[index]) for index in range(count))


def _eval_example(example: dict) -> dict:
  """A decoded example as `eval_iterator` yields it."""
  out = {f: images.crop_to_multiple(images.to_float(example[f]))[None] for f in IMAGE_FEATURES if f in example}
  name = example["name"]
  out["name"] = name.decode() if isinstance(name, bytes) else str(name)
  return out
