"""The IAC for XLA: one `lax.scan` over iterations, so compile time does not grow with N."""

import jax
import jax.numpy as jnp
from jax import lax

from ifan_jax.ops.iac.layout import FilterLayout
from ifan_jax.ops.iac.reference import iac_step


def iterate(features, per_iteration, xs, *, iterations, act_last, step=iac_step):
  """Runs `iterations` IAC steps under `lax.scan`.

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
  """IAC over materialised `[B, H, W, total]` filters, regrouped once iteration-major."""
  layout = FilterLayout(features.shape[-1], iterations, filter_size)
  layout.check(features.shape, filters.shape)
  kernels, biases = layout.split_iteration_major(filters)

  def per_iteration(x_i):
    kernel, bias = x_i
    return kernel[..., 0, :, :], kernel[..., 0 if compat else 1, :, :], bias

  return iterate(features, per_iteration, (kernels, biases), iterations=iterations, act_last=act_last)


def fused_head_scan(
  features, predictor_features, layout: FilterLayout, weights, biases, *, compat, act_last, step=None
):
  """IAC whose iteration i computes its own filters, `predictor_features @ weights[i] + biases[i]`.

  `weights`/`biases` come from `FilterLayout.head_iteration_major`. `step(x, slab, act)`
  replaces the XLA iteration (the Pallas kernel reads the head columns as they are).
  """

  def head(x_i):
    weight, bias = x_i
    return jnp.dot(predictor_features, weight) + bias

  if step is not None:
    return iterate(
      features, lambda x_i: (head(x_i),), (weights, biases), iterations=layout.iterations, act_last=act_last, step=step
    )
  return iterate(
    features,
    lambda x_i: layout.head_passes(head(x_i), compat),
    (weights, biases),
    iterations=layout.iterations,
    act_last=act_last,
  )
