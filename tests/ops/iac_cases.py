"""The Pallas IAC's correctness cases: odd-sized inputs, the kernel beside the definition.

Shared by `test_iac_pallas.py` (kernels in Pallas's CPU interpreter) and the GPU suite
(`benchmarks/gpu_suite.py`, compiled kernels on the device), so that both hold the kernel
to the same cases and the same tolerance.
"""

import functools

import jax
import jax.numpy as jnp
import numpy as np

from ifan_jax import ops
from ifan_jax.ops.iac.pallas import IACBlockSizes

TOL = 1e-5
ITERATIONS = 3
HEIGHT, WIDTH = 9, 11  # Divided by no tile height or width used below.
OUTPUTS = ("output", "features grad", "filters grad")
FUSED_OUTPUTS = ("output", "features grad", "predictor grad", "head kernel grad", "head bias grad")

# Each factor (k, compat, act_last, batch, channel tiling, tiles that overhang the image) takes
# both values somewhere.
CASES = [
  dict(filter_size=3, compat=False, act_last=True, batch=2, channels=2, blocks=IACBlockSizes()),
  dict(
    filter_size=3,
    compat=True,
    act_last=False,
    batch=1,
    channels=3,
    blocks=IACBlockSizes(block_h=2, block_w=4, block_c=2),
  ),
  dict(
    filter_size=5,
    compat=False,
    act_last=False,
    batch=1,
    channels=3,
    blocks=IACBlockSizes(block_h=8, block_w=2, block_c=2),
  ),
  dict(filter_size=5, compat=True, act_last=True, batch=2, channels=2, blocks=IACBlockSizes(block_h=16, block_w=16)),
]


def case_id(case):
  return f"k{case['filter_size']}-compat{case['compat']}-act{case['act_last']}-b{case['batch']}-c{case['channels']}"


def random_inputs(seed, batch, height, width, channels, iterations, filter_size):
  rng = np.random.default_rng(seed)
  features = rng.normal(size=(batch, height, width, channels)).astype(np.float32)
  filters = 0.3 * rng.normal(size=(batch, height, width, ops.FilterLayout(channels, iterations, filter_size).total))
  cotangent = rng.normal(size=features.shape).astype(np.float32)
  return jnp.asarray(features), jnp.asarray(filters, jnp.float32), jnp.asarray(cotangent)


def value_and_grads(fn, *args, cotangent):
  """fn's output and the gradients of <fn(*args), cotangent> w.r.t. every argument."""

  def run(*args):
    out, pullback = jax.vjp(fn, *args)
    return (out, *pullback(cotangent))

  return jax.jit(run)(*args)


def kernel_and_definition(case, *, interpret):
  """(Pallas kernel's, `iac_reference`'s) output and gradients on the case's inputs (OUTPUTS order)."""
  kwargs = dict(
    iterations=ITERATIONS, filter_size=case["filter_size"], compat=case["compat"], act_last=case["act_last"]
  )
  *inputs, cotangent = random_inputs(0, case["batch"], HEIGHT, WIDTH, case["channels"], ITERATIONS, case["filter_size"])
  pallas = functools.partial(ops.iac, impl="pallas", interpret=interpret, block_sizes=case["blocks"], **kwargs)
  reference = functools.partial(ops.iac_reference, **kwargs)
  return (
    value_and_grads(pallas, *inputs, cotangent=cotangent),
    value_and_grads(reference, *inputs, cotangent=cotangent),
  )


def fused_kernel_and_xla(compat, *, interpret):
  """(Pallas's, XLA's) fused-head IAC output and gradients (FUSED_OUTPUTS order) on small random inputs."""
  rng = np.random.default_rng(2)
  b, h, w, c, d, n, k = 1, 5, 7, 2, 3, 2, 3
  features = jnp.asarray(rng.normal(size=(b, h, w, c)), jnp.float32)
  predictor = jnp.asarray(rng.normal(size=(b, h, w, d)), jnp.float32)
  total = ops.FilterLayout(c, n, k).total
  head_kernel = jnp.asarray(0.2 * rng.normal(size=(d, total)), jnp.float32)
  head_bias = jnp.asarray(0.1 * rng.normal(size=(total,)), jnp.float32)
  cotangent = jnp.asarray(rng.normal(size=features.shape), jnp.float32)
  args = (features, predictor, head_kernel, head_bias)

  def run(impl, interpret):
    fn = functools.partial(ops.iac_fused, iterations=n, filter_size=k, compat=compat, impl=impl, interpret=interpret)
    return value_and_grads(fn, *args, cotangent=cotangent)

  return run("pallas", interpret), run("xla", False)


def max_abs_diff(actual, expected):
  return float(np.max(np.abs(np.asarray(actual, np.float32) - np.asarray(expected, np.float32))))


def lower_for_cuda(fn, *args):
  """StableHLO text of `fn` lowered for CUDA on a machine without a GPU.

  jax 0.11's Triton lowering asks the device for its compute capability; an abstract
  H100 answers for it (jax 0.10 accepts the same code and does not need it).
  """
  device = jax.sharding.AbstractDevice(device_kind="NVIDIA H100 80GB HBM3", num_cores=132, platform="cuda")
  mesh = jax.sharding.AbstractMesh((1,), ("x",), abstract_device=device)
  with jax.sharding.use_abstract_mesh(mesh):
    return jax.jit(fn).trace(*args).lower(lowering_platforms=("cuda",)).as_text()
