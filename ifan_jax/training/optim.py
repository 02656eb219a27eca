"""The reference's optimiser: torch's global-norm clipping, torch_optimizer's RAdam with its decoupled
weight decay, and step decay of the rate (docs/training.md, "The optimiser")."""

import math

import jax
import jax.numpy as jnp
import optax

CLIP_NORM_EPS = 1e-6  # torch.nn.utils.clip_grad_norm_ scales by max_norm / (norm + 1e-6).

# h(y) = coth(y) - 1/y = y/3 - y^3/45 + 2y^5/945 - y^7/4725 + ... (the Laurent series of coth): its
# first coefficients, and the y below which they give h to float32 precision (above it, the
# difference coth(y) - 1/y loses less than float32 precision in rho).
_H_SERIES = (1 / 3, -1 / 45, 2 / 945, -1 / 4725)
_H_SERIES_BELOW = 0.5


def learning_rate_schedule(config) -> optax.Schedule:
  """`learning_rate`, times `lr_decay_rate` for each `lr_decay_steps` entry the step count exceeds.

  As the reference's scheduler: the update after `s` completed steps uses the decayed
  rate only when `s > lr_decay_steps[i]`.
  """
  # optax decays once count >= boundary, hence the + 1.
  return optax.piecewise_constant_schedule(
    config.learning_rate, {int(step) + 1: config.lr_decay_rate for step in config.lr_decay_steps}
  )


def make_optimizer(config) -> optax.GradientTransformation:
  """Clip by global norm, rescale by RAdam, add `weight_decay * params`, scale by -lr.

  The rate comes last, so the decay `p -= lr * weight_decay * p` is decoupled from the
  adaptive rescaling, as in the reference's RAdam.
  """
  return optax.chain(
    clip_by_global_norm(config.grad_clip_norm),
    scale_by_radam(b1=config.b1, b2=config.b2, eps=config.eps, threshold=config.radam_threshold),
    optax.add_decayed_weights(config.weight_decay),
    optax.scale_by_learning_rate(learning_rate_schedule(config)),
  )


def clip_by_global_norm(max_norm: float) -> optax.GradientTransformation:
  """Scales every update by `min(1, max_norm / (global norm + 1e-6))`, as `clip_grad_norm_` does."""

  def update_fn(updates, state, params=None):
    del params
    scale = jnp.minimum(1.0, max_norm / (optax.tree.norm(updates) + CLIP_NORM_EPS))
    return jax.tree.map(lambda g: g * scale.astype(g.dtype), updates), state

  return optax.GradientTransformation(optax.init_empty_state, update_fn)


def scale_by_radam(*, b1: float, b2: float, eps: float, threshold: float) -> optax.GradientTransformation:
  """`torch_optimizer.RAdam`'s step without its rate: `f_t * m / (sqrt(v) + eps)` once rho_t >= threshold,
  else `m / (1 - b1^t)`, with `m`, `v` the raw moments and `f_t` of `radam_step_factor`.

  optax.scale_by_radam adds eps to the bias-corrected sqrt(v / (1 - b2^t)) instead: the reference's
  eps is 1/sqrt(1 - b2^t) times larger (32x at step 1, 1.6x at step 500), which matters with IFAN's
  small gradients. The state is optax's ScaleByAdamState, so checkpoints keep their layout.
  """

  def init_fn(params):
    mu, nu = optax.tree.zeros_like(params), optax.tree.zeros_like(params)
    return optax.ScaleByAdamState(count=jnp.zeros([], jnp.int32), mu=mu, nu=nu)

  def update_fn(updates, state, params=None):
    del params
    mu = optax.tree.update_moment(updates, state.mu, b1, 1)
    nu = optax.tree.update_moment_per_elem_norm(updates, state.nu, b2, 2)
    count = optax.safe_increment(state.count)
    rectified, factor = radam_step_factor(count, b1=b1, b2=b2, threshold=threshold)
    updates = jax.tree.map(
      lambda m, v: factor.astype(m.dtype) * jnp.where(rectified, m / (jnp.sqrt(v) + eps), m), mu, nu
    )
    return updates, optax.ScaleByAdamState(count=count, mu=mu, nu=nu)

  return optax.GradientTransformation(init_fn, update_fn)


def radam_step_factor(count, *, b1: float, b2: float, threshold: float):
  """`(rectified, f_t)` of step `count` (1, 2, ...): `rho_t >= threshold`, and `f_t`, the reference's
  `step_size / lr`: `r_t sqrt(1 - b2^t) / (1 - b1^t)` if rectified, else `1 / (1 - b1^t)`.

  The reference computes these in float64. Its `rho_t = rho_inf - 2 t b2^t / (1 - b2^t)` is, in the first
  steps, a small difference of numbers near rho_inf ~ 2000: float32 gives 5.975 for step 6's 5.994.
  Here, with `a = -log(b2)`, `y = t a / 2` and `h(y) = coth(y) - 1/y`, the same rho_t is
  `rho_inf - 2/a + t (1 - h(y))`, with h's series for small y and `2/a - 2t / expm1(2y)` for
  `t (1 - h(y))` beyond: `f_t` within 3e-7 (relative) of the float64 value at every step.
  """
  a = -math.log(b2)
  rho_inf = 2 / (1 - b2) - 1
  t = count.astype(jnp.float32)
  y = t * (a / 2)
  h_small_y = y * jnp.polyval(jnp.asarray(_H_SERIES[::-1]), y * y)
  rho = (rho_inf - 2 / a) + jnp.where(y < _H_SERIES_BELOW, t * (1 - h_small_y), 2 / a - 2 * t / jnp.expm1(2 * y))
  bias1 = -jnp.expm1(t * math.log(b1))  # 1 - b1^t
  bias2 = -jnp.expm1(-2 * y)  # 1 - b2^t
  rectified = rho >= threshold
  r_squared = (rho - 4) * (rho - 2) / rho * (rho_inf / ((rho_inf - 4) * (rho_inf - 2)))
  return rectified, jnp.where(rectified, jnp.sqrt(jnp.maximum(bias2 * r_squared, 0.0)), 1.0) / bias1
