r"""Seconds per image, MACs, achieved GFLOP/s and peak memory of IFAN inference.

  python benchmarks/inference.py --size 720x1280
  python benchmarks/inference.py --size 1120x1680 --checkpoint checkpoints/ifan
  python benchmarks/inference.py --size 720x1280 --official_repo /path/to/IFAN  # the official code

Run one size per process: the peak resident memory it prints is the process's. With
--official_repo (a checkout of the official code, which we do not ship) the same process
times the official PyTorch network instead of ours, so that two back-to-back runs compare
them on the same machine.
"""

import resource
import statistics
import sys
import time
import types

import jax
import jax.extend.core as jax_core
import jax.numpy as jnp
import numpy as np
from absl import app, flags

from ifan_jax import IFAN, Deblurrer, IFANConfig

_SIZE = flags.DEFINE_string("size", "720x1280", "HxW of the input image.")
_CHECKPOINT = flags.DEFINE_string("checkpoint", None, "Model directory; random default-config weights if unset.")
_REPEATS = flags.DEFINE_integer("repeats", 5, "Timed runs after one warm-up run.")
_DTYPE = flags.DEFINE_enum("dtype", "float32", ["float32", "bfloat16"], "Compute dtype.")
_OFFICIAL_REPO = flags.DEFINE_string("official_repo", None, "Time this checkout of the official code instead.")


def _median_seconds(fn, repeats):
  fn()  # Warm-up (compilation, allocator).
  times = []
  for _ in range(repeats):
    start = time.perf_counter()
    fn()
    times.append(time.perf_counter() - start)
  return statistics.median(times)


def count_macs(fn, *args):
  """Multiply-accumulates of every convolution and matrix product in `fn`'s jaxpr (scan bodies x length)."""

  def walk(jaxpr, times):
    total = 0
    for eqn in jaxpr.eqns:
      if eqn.primitive.name == "conv_general_dilated":
        rhs = eqn.invars[1].aval.shape  # HWIO after our dimension numbers, or OIHW-like.
        out = eqn.outvars[0].aval.shape
        total += np.prod(out) * np.prod(rhs) // _out_features(eqn)
      elif eqn.primitive.name == "dot_general":
        (contract, _), _ = eqn.params["dimension_numbers"]
        lhs = eqn.invars[0].aval.shape
        total += np.prod(eqn.outvars[0].aval.shape) * np.prod([lhs[d] for d in contract])
      for sub in jax_core.jaxprs_in_params(eqn.params):
        total += walk(sub, eqn.params.get("length", 1))
    return total * times

  return walk(jax.make_jaxpr(fn)(*args).jaxpr, 1)


def _out_features(eqn):
  spec = eqn.params["dimension_numbers"].rhs_spec  # (out, in, spatial...) positions
  return eqn.invars[1].aval.shape[spec[0]]


def matmul_peak_gflops(n=2048, repeats=5):
  """float32 GFLOP/s of a large jnp.dot: the machine's practical matrix-multiply peak."""
  a = jnp.ones((n, n), jnp.float32)
  dot = jax.jit(jnp.dot)
  seconds = _median_seconds(lambda: dot(a, a).block_until_ready(), repeats)
  return 2 * n**3 / seconds / 1e9


def _official_seconds(repo, h, w, repeats):
  sys.path.insert(0, repo)
  import torch  # pylint: disable=import-outside-toplevel
  from models.archs import IFAN as official  # pylint: disable=import-outside-toplevel

  config = types.SimpleNamespace(device="cpu", ks=3, Fs=3, res_num=2, ch=32, wiF=1.5, N=17)
  network = official.Network(config).eval()
  x = torch.rand(1, 3, h, w)

  def run():
    with torch.no_grad():
      network(x)

  return _median_seconds(run, repeats)


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
  seconds = _median_seconds(lambda: forward(variables, image).block_until_ready(), _REPEATS.value)
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
