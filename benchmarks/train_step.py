r"""Training steps/s, examples/s and peak memory of one IFAN training step (network + reblurring net + RAdam).

  python -m benchmarks.train_step                                   # reference: batch 8 of 256x256
  python -m benchmarks.train_step --config configs/synthetic.py --batch_size 8 --crop_size 64
  python -m benchmarks.train_step --official_repo /path/to/IFAN     # the official PyTorch step

Ours runs `ifan_jax.training`'s pmapped step over all local devices, on random images.
With --official_repo (a checkout of the official code, which we do not ship; e.g.
`git -C MIRROR archive HEAD | tar -x -C /tmp/IFAN`) the same process times the official
trainer's step instead (`benchmarks/official.py`: its network and reblurring network, losses,
global-norm clipping and `torch_optimizer.RAdam`, which needs `pip install torch-optimizer==0.3.0`),
so that two back-to-back runs compare them on the same machine. Run one of them per process: the
peak memory printed is the process's.
"""

import resource
import time

import jax
import numpy as np
from absl import app, flags
from ml_collections import config_flags

from benchmarks import official
from benchmarks.timing import median_seconds
from ifan_jax import configs
from ifan_jax.training import optim
from ifan_jax.training import step as step_lib

_CONFIG = config_flags.DEFINE_config_file("config", configs.resolve("configs/dpdd.py"), "Training config.")
configs.resolve_paths_of(flags.FLAGS["config"])
_BATCH = flags.DEFINE_integer("batch_size", 8, "Global batch size.")
_CROP = flags.DEFINE_integer("crop_size", 256, "Side of the square training crops.")
_STEPS = flags.DEFINE_integer("steps", 3, "Timed steps after one warm-up (compiling) step.")
_OFFICIAL_REPO = flags.DEFINE_string("official_repo", None, "Time this checkout of the official code instead.")


def _timed(step, steps):
  """(seconds of the first call, median seconds of the next `steps` calls)."""
  start = time.perf_counter()
  step()
  first = time.perf_counter() - start
  return first, median_seconds(step, steps)


def _ours(config, batch_size, crop):
  tx = optim.make_optimizer(config)
  state = step_lib.replicate(jax.device_get(step_lib.init_state(config, tx, jax.random.PRNGKey(0))))
  parallel_step = step_lib.make_parallel_train_step(config, tx, optim.learning_rate_schedule(config))
  rng = np.random.default_rng(0)
  batch = {key: rng.random((batch_size, crop, crop, 3), np.float32) for key in ("blurred", "left", "right", "sharp")}
  holder = {"state": state}

  def step():
    holder["state"], metrics = parallel_step(holder["state"], batch)
    jax.block_until_ready(metrics)

  return _timed(step, _STEPS.value)


def _official(repo, config, batch_size, crop):
  import torch  # pylint: disable=import-outside-toplevel

  step = official.training_step(repo, config, step_lib.model_config(config), batch_size, crop, "cpu")
  return _timed(step, _STEPS.value), torch.get_num_threads()


def _peak_memory():
  device = jax.local_devices()[0]
  stats = device.memory_stats() if device.platform != "cpu" else None
  if stats:
    return f"peak device memory: {stats['peak_bytes_in_use'] / 2**30:.2f} GiB"
  return f"peak resident memory: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:.2f} GiB"


def main(argv):
  del argv
  config, batch_size, crop = _CONFIG.value, _BATCH.value, _CROP.value
  if _OFFICIAL_REPO.value:
    (first, seconds), threads = _official(_OFFICIAL_REPO.value, config, batch_size, crop)
    who = f"official PyTorch ({threads} threads)"
  else:
    first, seconds = _ours(config, batch_size, crop)
    who = f"ifan_jax ({jax.devices()[0].device_kind} x{jax.local_device_count()}, {config.model.dtype})"
  print(f"{who}: batch {batch_size} of {crop}x{crop}, channels {config.model.channels}, N={config.model.iterations}")
  print(f"first step (compilation included): {first:.1f} s")
  print(
    f"{1 / seconds:.3f} steps/s, {batch_size / seconds:.2f} examples/s ({seconds:.3f} s/step, median of {_STEPS.value})"
  )
  print(_peak_memory())


if __name__ == "__main__":
  app.run(main)
