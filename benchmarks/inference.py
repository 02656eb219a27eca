r"""Seconds per image, MACs, achieved GFLOP/s and peak memory of IFAN inference.

  python -m benchmarks.inference --size 720x1280
  python -m benchmarks.inference --size 1120x1680 --checkpoint checkpoints/ifan
  python -m benchmarks.inference --size 720x1280 --official_repo /path/to/IFAN  # the official code

Run one size per process: the peak resident memory it prints is the process's. With
--official_repo (a checkout of the official code, which we do not ship) the same process
times the official PyTorch network instead of ours, so that two back-to-back runs compare
them on the same machine.
"""

import resource

import jax
import jax.numpy as jnp
from absl import app, flags

from benchmarks import official
from benchmarks.costs import count_macs
from benchmarks.timing import median_seconds
from ifan_jax import IFAN, Deblurrer, IFANConfig

_SIZE = flags.DEFINE_string("size", "720x1280", "HxW of the input image.")
_CHECKPOINT = flags.DEFINE_string("checkpoint", None, "Model directory; random default-config weights if unset.")
_REPEATS = flags.DEFINE_integer("repeats", 5, "Timed runs after one warm-up run.")
_DTYPE = flags.DEFINE_enum("dtype", "float32", ["float32", "bfloat16"], "Compute dtype.")
_OFFICIAL_REPO = flags.DEFINE_string("official_repo", None, "Time this checkout of the official code instead.")


def matmul_peak_gflops(n=2048, repeats=5):
  """float32 GFLOP/s of a large jnp.dot: the machine's practical matrix-multiply peak."""
  a = jnp.ones((n, n), jnp.float32)
  dot = jax.jit(jnp.dot)
  seconds = median_seconds(lambda: dot(a, a).block_until_ready(), repeats, warmup=True)
  return 2 * n**3 / seconds / 1e9


def _official_seconds(repo, h, w, repeats):
  import torch  # pylint: disable=import-outside-toplevel

  network = official.network(repo, IFANConfig(), "cpu")
  x = torch.rand(1, 3, h, w)

  def run():
    with torch.no_grad():
      network(x)

  return median_seconds(run, repeats, warmup=True)


def _peak_memory_line():
  return f"peak resident memory: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:.2f} GiB"


def torch_threads():
  import torch  # pylint: disable=import-outside-toplevel

  return torch.get_num_threads()


def main(argv):
  del argv
  h, w = map(int, _SIZE.value.split("x"))
  if _OFFICIAL_REPO.value:
    seconds = _official_seconds(_OFFICIAL_REPO.value, h, w, _REPEATS.value)
    print(f"official PyTorch ({torch_threads()} threads): {seconds:.3f} s/image (median of {_REPEATS.value})")
    print(_peak_memory_line())
    return
  if _CHECKPOINT.value:
    deblurrer = Deblurrer.from_checkpoint(_CHECKPOINT.value)
    config, variables = deblurrer.config, deblurrer.variables
  else:
    config = IFANConfig(iac_compat=True)
    variables = IFAN(config).init(jax.random.key(0), jnp.zeros((1, 64, 64, 3)))
  config = config.replace(dtype=_DTYPE.value)
  model = IFAN(config)
  image = jax.random.uniform(jax.random.key(1), (1, h, w, 3))
  forward = jax.jit(lambda v, x: model.apply(v, x)["result"])
  seconds = median_seconds(lambda: forward(variables, image).block_until_ready(), _REPEATS.value, warmup=True)
  macs = count_macs(lambda x: model.apply(variables, x)["result"], image)
  peak = matmul_peak_gflops()
  achieved = 2 * macs / seconds / 1e9
  print(f"device: {jax.devices()[0].device_kind} x{jax.device_count()}  size: {h}x{w}  dtype: {_DTYPE.value}")
  print(f"ifan_jax: {seconds:.3f} s/image (median of {_REPEATS.value})")
  print(f"executed MACs: {macs / 1e9:.1f} G  achieved: {achieved:.1f} GFLOP/s")
  print(f"float32 matmul peak: {peak:.1f} GFLOP/s  fraction achieved: {achieved / peak:.0%}")
  print(_peak_memory_line())


if __name__ == "__main__":
  app.run(main)
