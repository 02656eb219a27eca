"""Iterative adaptive convolution (IAC): per-pixel separable filters, applied N times.

Layout (NHWC). Features are `[B, H, W, C]`. Filters are `[B, H, W, N*C*k*2 + N*C]`
in the reference's channel order: N groups of `2*C*k` channels, each split into a
vertical kernel and a horizontal kernel of `C*k` channels laid out channel-major
(channel j's k taps at `[j*k, (j+1)*k)`), followed by N biases of C channels.

One iteration: a vertical k-tap pass, a horizontal k-tap pass (both with replicate
padding), plus the bias, then LeakyReLU(0.1) (skipped after the last iteration when
`act_last=False`). `compat=True` reproduces the published checkpoints, whose
horizontal pass reuses the vertical kernel.
"""

from typing import Literal

import jax
import jax.numpy as jnp
from jax import lax

from ifan_jax.ops import iac_layout
from ifan_jax.ops.iac_definition import iac_reference, iac_step
from ifan_jax.ops.iac_pallas import Backward, IACBlockSizes, iac_pallas, iac_step_pallas

Impl = Literal["auto", "xla", "reference", "pallas"]


def iterate(features, per_iteration, xs, *, iterations, act_last, step=iac_step):
  """Runs `iterations` IAC steps under `lax.scan`, so compile time does not grow with N.

  `per_iteration(x_i)` maps one slice of `xs` to the filter arguments of `step`
  (`(vertical, horizontal, bias)` for `iac_step`). All iterations but the last apply
  the activation; the last is peeled off so that `act_last` stays a static choice.
  """

  def body(x, x_i):
    return step(x, *per_iteration(x_i), act=True), None

  head = jax.tree.map(lambda a: a[:-1], xs)
  last = jax.tree.map(lambda a: a[-1], xs)
  x, _ = lax.scan(body, features, head, length=iterations - 1)
  return step(x, *per_iteration(last), act=act_last)


def iac_xla(features, filters, *, iterations, filter_size, compat=False, act_last=True):
  """IAC as one `lax.scan` over iterations; filters are regrouped once, iteration-major."""
  c, k = features.shape[-1], filter_size
  iac_layout.check_shapes(features.shape, filters.shape, iterations, k)
  kernels, biases = iac_layout.split_iteration_major(filters, iterations, c, k)

  def per_iteration(x_i):
    kernel, bias = x_i
    return kernel[..., 0, :, :], kernel[..., 0 if compat else 1, :, :], bias

  return iterate(features, per_iteration, (kernels, biases),
                 iterations=iterations, act_last=act_last)


def resolve_impl(impl: Impl, interpret=False) -> str:
  """"auto" -> XLA, or the Pallas kernel when `interpret` asks for it.

  "auto" stays on XLA on GPUs too until the Pallas kernel has been compiled and checked
  on one: it matches the reference in Pallas's interpreter and lowers for CUDA, but has
  not yet run on a GPU. Ask for impl="pallas" to use it there.
  """
  if impl not in ("auto", "xla", "reference", "pallas"):
    raise ValueError(f"Unknown IAC impl {impl!r}; expected 'auto', 'xla', 'reference' or 'pallas'.")
  if impl == "auto":
    impl = "pallas" if interpret else "xla"
  if interpret and impl != "pallas":
    raise ValueError(f"IAC interpret=True runs the Pallas kernel's interpreter; it has no meaning for "
                     f"impl={impl!r}.")
  return impl


def iac(features, filters, *, iterations, filter_size, compat=False, act_last=True, impl: Impl = "auto",
        block_sizes: IACBlockSizes = IACBlockSizes(), interpret=False, backward: Backward = "pallas"):
  """Applies IAC. `impl`: "xla" (scan), "reference" (plain loop) or "pallas" (GPU kernel).

  "auto" picks "xla" (see `resolve_impl`). `block_sizes`, `interpret` (run
  the kernel in Pallas's CPU interpreter) and `backward` ("pallas" kernels or `jax.vjp`
  of the reference) only apply to the Pallas kernel.
  """
  kwargs = dict(iterations=iterations, filter_size=filter_size, compat=compat, act_last=act_last)
  impl = resolve_impl(impl, interpret)
  if impl == "xla":
    return iac_xla(features, filters, **kwargs)
  if impl == "reference":
    return iac_reference(features, filters, **kwargs)
  return iac_pallas(features, filters, **kwargs, block_sizes=block_sizes, interpret=interpret,
                    backward=backward)


def iac_fused(features, predictor_features, head_kernel, head_bias, *, iterations, filter_size,
              compat=False, act_last=True, impl: Impl = "auto", block_sizes: IACBlockSizes = IACBlockSizes(),
              interpret=False, backward: Backward = "pallas"):
  """IAC whose filters come from a 1x1 conv head, computed one iteration at a time.

  Equals `iac(features, predictor_features @ head_kernel + head_bias, ...)` but never
  materialises the `N*(2Ck) + N*C`-channel filter tensor (1.8 GB at 1680x1120 for the
  default model): each scan step runs the head's columns for its own iteration.
  `head_kernel` is `[D, N*(2Ck) + N*C]` in the reference's channel order. With
  `impl="pallas"` each step's filters go to the Pallas kernel; "reference" runs the
  same scan as "xla".
  """
  c, k = features.shape[-1], filter_size
  iac_layout.check_shapes(features.shape, (*features.shape[:3], head_kernel.shape[-1]), iterations, k)
  weights, biases = iac_layout.head_iteration_major(head_kernel, head_bias, iterations, c, k, compat)
  lead = features.shape[:3]

  def head(x_i):
    weight, bias = x_i
    return jnp.dot(predictor_features, weight) + bias

  if resolve_impl(impl, interpret) == "pallas":
    def pallas_step(x, slab, act):
      return iac_step_pallas(x, slab, filter_size=k, compat=compat, act=act, block_sizes=block_sizes,
                             interpret=interpret, backward=backward)

    return iterate(features, lambda x_i: (head(x_i),), (weights, biases), iterations=iterations,
                   act_last=act_last, step=pallas_step)

  def per_iteration(x_i):
    out = head(x_i)
    vertical = out[..., :k * c].reshape(*lead, k, c)
    horizontal = vertical if compat else out[..., k * c:2 * k * c].reshape(*lead, k, c)
    return vertical, horizontal, out[..., -c:]

  return iterate(features, per_iteration, (weights, biases), iterations=iterations, act_last=act_last)
