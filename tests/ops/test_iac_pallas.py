"""The Pallas IAC kernel, run in Pallas's CPU interpreter, against the plain-jnp definition.

Interpreted kernels are slow to compile, so every case is one jitted function that
returns the forward output and both gradients, on tiny odd-sized images.
"""

import functools
import re

import jax
import jax.extend.core as jax_core
import jax.numpy as jnp
import numpy as np
import pytest

from ifan_jax import ops
from ifan_jax.ops.iac.pallas import IACBlockSizes, iac_pallas, iac_step_pallas
from tests.conftest import load_npz
from tests.ops.iac_cases import (
  CASES,
  FUSED_OUTPUTS,
  ITERATIONS,
  OUTPUTS,
  TOL,
  case_id,
  fused_kernel_and_xla,
  kernel_and_definition,
  lower_for_cuda,
  random_inputs,
  value_and_grads,
)

TRITON_CALL = "__gpu$xla.gpu.triton"


def assert_close(actual, expected, what):
  np.testing.assert_allclose(np.asarray(actual), np.asarray(expected), rtol=0, atol=TOL, err_msg=what)


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_forward_and_gradients_match_reference(case):
  pallas, reference = kernel_and_definition(case, interpret=True)
  for what, actual, expected in zip(OUTPUTS, pallas, reference):
    assert_close(actual, expected, what)
  if case["compat"]:  # The horizontal taps are never read in compat mode.
    layout = ops.FilterLayout(case["channels"], ITERATIONS, case["filter_size"])
    assert not np.any(np.asarray(layout.split_iteration_major(pallas[2])[0][..., 1, :, :]))


def test_reference_backward_option():
  kwargs = dict(iterations=2, filter_size=3, compat=False, act_last=True)
  *inputs, cotangent = random_inputs(1, 1, 5, 7, 2, 2, 3)
  pallas_fn = functools.partial(iac_pallas, interpret=True, backward="reference", **kwargs)
  pallas = value_and_grads(pallas_fn, *inputs, cotangent=cotangent)
  reference = value_and_grads(functools.partial(ops.iac_reference, **kwargs), *inputs, cotangent=cotangent)
  for what, actual, expected in zip(OUTPUTS, pallas, reference):
    assert_close(actual, expected, what)


def test_golden_pytorch_outputs(golden_dir):
  golden = load_npz(golden_dir / "iac_io.npz")
  options = {
    "compat": dict(compat=True),
    "compat_noact": dict(compat=True, act_last=False),
    "fixed": dict(compat=False),
  }
  for tag in sorted(key.rsplit("_features", 1)[0] for key in golden if key.endswith("_features")):
    iterations, filter_size = map(int, re.search(r"_N(\d+)_k(\d+)$", tag).groups())

    @functools.partial(jax.jit, static_argnames=("iterations", "filter_size"))
    def run(features, filters, iterations, filter_size):
      return {
        name: ops.iac(
          features, filters, iterations=iterations, filter_size=filter_size, impl="pallas", interpret=True, **option
        )
        for name, option in options.items()
      }

    outputs = run(golden[f"{tag}_features"], golden[f"{tag}_filters"], iterations, filter_size)
    for name, out in outputs.items():
      assert_close(out, golden[f"{tag}_out_{name}"], f"{tag} {name}")


@pytest.mark.parametrize("compat", [False, True])
def test_fused_head_through_the_kernel(compat):
  pallas, xla = fused_kernel_and_xla(compat, interpret=True)
  for what, actual, expected in zip(FUSED_OUTPUTS, pallas, xla):
    assert_close(actual, expected, what)


def pallas_calls(jaxpr):
  """Every pallas_call equation in a jaxpr and in the jaxprs nested in its equations' parameters."""
  found = []
  for eqn in jaxpr.eqns:
    if eqn.primitive.name == "pallas_call":
      found.append(eqn)
      continue
    for inner in jax_core.jaxprs_in_params(eqn.params):
      found += pallas_calls(inner)
  return found


def test_interpret_reaches_every_pallas_call():
  features, filters, _ = random_inputs(3, 1, 5, 7, 2, 2, 3)

  def grads(impl, interpret):
    loss = lambda x, f: jnp.sum(ops.iac(x, f, iterations=2, filter_size=3, impl=impl, interpret=interpret))
    return pallas_calls(jax.make_jaxpr(jax.grad(loss, argnums=(0, 1)))(features, filters).jaxpr)

  calls = grads("auto", True)  # "auto" with interpret=True means the kernel, interpreted.
  names = sorted(eqn.params["name"] for eqn in calls)
  assert names == ["iac_backward_horizontal", "iac_backward_vertical", "iac_forward"]
  assert all(eqn.params["interpret"] for eqn in calls)
  if jax.default_backend() == "cpu":
    assert not grads("auto", False)  # "auto" is XLA off the GPU.


def test_compiled_kernel_on_this_backend():
  """On a GPU the compiled kernels match the reference; on a CPU they refuse to run uninterpreted."""
  kwargs = dict(iterations=2, filter_size=3, compat=False, act_last=True)
  *inputs, cotangent = random_inputs(4, 2, 9, 11, 3, 2, 3)
  pallas = functools.partial(ops.iac, impl="pallas", **kwargs)
  if jax.default_backend() != "gpu":
    with pytest.raises(ValueError, match="interpret"):
      value_and_grads(pallas, *inputs, cotangent=cotangent)
    return
  reference = value_and_grads(functools.partial(ops.iac_reference, **kwargs), *inputs, cotangent=cotangent)
  for what, actual, expected in zip(OUTPUTS, value_and_grads(pallas, *inputs, cotangent=cotangent), reference):
    assert_close(actual, expected, what)


@pytest.mark.parametrize("compat", [False, True])
def test_lowers_for_cuda(compat):
  n, k, c = 17, 3, 128
  features = jax.ShapeDtypeStruct((1, 20, 28, c), jnp.float32)
  filters = jax.ShapeDtypeStruct((1, 20, 28, ops.FilterLayout(c, n, k).total), jnp.float32)
  forward = lambda x, f: ops.iac(x, f, iterations=n, filter_size=k, compat=compat, impl="pallas")
  grads = jax.grad(lambda x, f: jnp.sum(forward(x, f)), argnums=(0, 1))
  assert lower_for_cuda(forward, features, filters).count(TRITON_CALL) == 1
  assert lower_for_cuda(grads, features, filters).count(TRITON_CALL) == 3


def test_fused_step_lowers_for_cuda_in_bfloat16():
  c, k = 128, 3
  features = jax.ShapeDtypeStruct((2, 16, 16, c), jnp.bfloat16)
  slab = jax.ShapeDtypeStruct((2, 16, 16, 2 * k * c + c), jnp.bfloat16)
  step = lambda x, s: iac_step_pallas(x, s, filter_size=k, compat=False, act=True)
  grads = jax.grad(lambda x, s: jnp.sum(step(x, s).astype(jnp.float32)), argnums=(0, 1))
  assert lower_for_cuda(grads, features, slab).count(TRITON_CALL) == 3


def test_block_sizes_must_be_powers_of_two():
  with pytest.raises(ValueError, match=r"IACBlockSizes.block_w=6 must be a power of two"):
    IACBlockSizes(block_w=6)
  with pytest.raises(ValueError, match=r"IACBlockSizes.num_stages=0"):
    IACBlockSizes(num_stages=0)


def test_shape_errors_name_the_values():
  features = jnp.zeros((1, 5, 7, 2))
  with pytest.raises(ValueError, match=r"filters have 40 channels; N=2, k=3 and C=2 need .* = 28"):
    iac_pallas(features, jnp.zeros((1, 5, 7, 40)), iterations=2, filter_size=3, interpret=True)
  with pytest.raises(ValueError, match=r"filter_size must be a positive odd number, got 4"):
    iac_pallas(features, jnp.zeros((1, 5, 7, 40)), iterations=2, filter_size=4, interpret=True)
  with pytest.raises(ValueError, match=r"head slab \(1, 5, 7, 9\) .* needs 14 channels"):
    iac_step_pallas(features, jnp.zeros((1, 5, 7, 9)), filter_size=3, compat=False, act=True, interpret=True)
  with pytest.raises(ValueError, match=r"features must be floating point"):
    iac_pallas(
      jnp.zeros((1, 5, 7, 2), jnp.int32), jnp.zeros((1, 5, 7, 28)), iterations=2, filter_size=3, interpret=True
    )
  with pytest.raises(ValueError, match=r"Unknown IAC backward 'fast'"):
    iac_pallas(features, jnp.zeros((1, 5, 7, 28)), iterations=2, filter_size=3, backward="fast")


def test_impl_errors():
  features, filters, _ = random_inputs(3, 1, 5, 7, 2, 2, 3)
  with pytest.raises(ValueError, match=r"interpret=True .* impl='xla'"):
    ops.iac(features, filters, iterations=2, filter_size=3, impl="xla", interpret=True)
  with pytest.raises(ValueError, match=r"Unknown IAC impl 'triton'"):
    ops.iac(features, filters, iterations=2, filter_size=3, impl="triton")
