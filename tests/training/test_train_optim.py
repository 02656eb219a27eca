"""The optimiser against the reference's rule, written out in float64 numpy: torch's clip_grad_norm_,
torch_optimizer.RAdam and the official LR_decay (docs/training.md, "The optimiser"). With its float32
casts removed, torch_optimizer 0.3.0's RAdam.step gives what `reference_steps` gives to 1e-15."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from ifan_jax.training import optim
from tests.training.conftest import tiny_config


def reference_steps(grads, params, steps, *, lr, decay_steps, decay_rate, b1, b2, eps, weight_decay, clip):
  """`steps` updates of `params` by the reference trainer, in float64: clip_grad_norm_, then
  torch_optimizer.RAdam (eps added to the raw sqrt(v), sqrt(1 - b2^t) in the step size, a
  momentum step while rho_t < 5, the decay p -= lr * wd * p), then LR_decay."""
  m = np.zeros_like(params)
  v = np.zeros_like(params)
  rho_inf = 2 / (1 - b2) - 1
  p = params.copy()
  for t in range(1, steps + 1):
    g = grads(p)
    g = g * min(1.0, clip / (np.linalg.norm(g) + 1e-6))
    rate = lr * decay_rate ** sum(t - 1 > s for s in decay_steps)
    m = b1 * m + (1 - b1) * g
    v = b2 * v + (1 - b2) * g * g
    rho = rho_inf - 2 * t * b2**t / (1 - b2**t)
    p = p - rate * weight_decay * p
    if rho >= 5:
      r = math.sqrt((rho - 4) * (rho - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho))
      p = p - rate * r * math.sqrt(1 - b2**t) / (1 - b1**t) * m / (np.sqrt(v) + eps)
    else:
      p = p - rate / (1 - b1**t) * m
  return p


@pytest.mark.parametrize("scale", [1e-8, 1e-6, 1e-4, 1e-2, 1.0])
def test_optimizer_follows_the_reference_rule_at_every_gradient_scale(scale):
  """Gradients of `scale` times a quadratic's: eps matters below ~1e-6, clipping at 1, decays at 4 and 8."""
  settings = dict(lr=0.05, decay_steps=(4, 8), decay_rate=0.5, b1=0.9, b2=0.999, eps=1e-8, weight_decay=0.1)
  config = tiny_config(
    learning_rate=0.05, lr_decay_steps=(4, 8), lr_decay_rate=0.5, weight_decay=0.1, grad_clip_norm=2.0
  )
  rng = np.random.default_rng(0)
  a = rng.normal(size=(6, 5))
  b = rng.normal(size=6)
  params0 = rng.normal(size=5).astype(np.float32)

  def grads(p):
    return scale * (a.T @ (a @ p - b))

  # 12 steps: the first 5 are momentum steps (rho_t < 5), the rest rectified; both decays pass.
  expected = reference_steps(grads, params0.astype(np.float64), 12, clip=2.0, **settings)
  tx = optim.make_optimizer(config)
  params = jnp.asarray(params0)
  state = tx.init(params)
  update = jax.jit(tx.update)
  for _ in range(12):
    updates, state = update(jnp.asarray(grads(np.asarray(params, np.float64)), jnp.float32), state, params)
    params = optax.apply_updates(params, updates)
  move, expected_move = np.asarray(params, np.float64) - params0, expected - params0
  np.testing.assert_allclose(move, expected_move, rtol=1e-5, atol=1e-5 * np.abs(expected_move).max())
  assert np.abs(expected_move).max() > 0.03  # The steps really moved the parameters.


@pytest.mark.parametrize("b2", [0.999, 0.99])  # the reference's, configs/synthetic.py's
def test_step_factor_is_the_float64_one_at_every_step(b2):
  """rho_t and the step size in float32, without the cancellation of the textbook formula."""
  b1 = 0.9
  steps = np.concatenate([np.arange(1, 5001), np.geomspace(5001, 2_000_000, 500).astype(np.int64)])
  rectified, factor = jax.jit(jax.vmap(lambda t: optim.radam_step_factor(t, b1=b1, b2=b2, threshold=5.0)))(
    jnp.asarray(steps, jnp.int32)
  )
  rho_inf = 2 / (1 - b2) - 1
  expected_rectified, expected = [], []
  for t in map(int, steps):
    rho = rho_inf - 2 * t * b2**t / (1 - b2**t)
    r = math.sqrt(max((rho - 4) * (rho - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho), 0.0))
    expected_rectified.append(rho >= 5)
    expected.append((r * math.sqrt(1 - b2**t) if rho >= 5 else 1.0) / (1 - b1**t))
  np.testing.assert_array_equal(rectified, expected_rectified)
  assert steps[np.argmax(rectified)] == 6  # rho_5 = 4.996, rho_6 = 5.994 with b2 = 0.999
  np.testing.assert_allclose(factor, expected, rtol=5e-7)


@pytest.mark.parametrize("norm, max_norm, scale", [(1.0, 2.0, 1.0), (1.0, 0.5, 0.5 / (1 + 1e-6)), (3e-6, 2e-6, 0.5)])
def test_clipping_divides_by_the_norm_plus_1e_6_as_torch(norm, max_norm, scale):
  grads = {"a": jnp.asarray([0.6, 0.0], jnp.float32) * norm, "b": jnp.asarray([0.8], jnp.float32) * norm}
  clipped, _ = optim.clip_by_global_norm(max_norm).update(grads, optax.EmptyState())
  jax.tree.map(lambda c, g: np.testing.assert_allclose(c, g * scale, rtol=1e-6), clipped, grads)


def test_schedule_halves_the_rate_once_the_step_count_exceeds_each_decay_step():
  schedule = optim.learning_rate_schedule(tiny_config(learning_rate=1e-4, lr_decay_steps=(500, 550)))
  rates = [float(schedule(jnp.int32(s))) for s in (0, 500, 501, 550, 551, 10_000)]
  np.testing.assert_allclose(rates, [1e-4, 1e-4, 5e-5, 5e-5, 2.5e-5, 2.5e-5], rtol=1e-6)


def test_weight_decay_is_decoupled_from_the_adaptive_scaling():
  """With zero gradients the moments stay zero and only `p -= lr * wd * p` acts."""
  tx = optim.make_optimizer(tiny_config(learning_rate=0.1, weight_decay=0.5))
  params = {"w": jnp.full((3,), 2.0)}
  updates, _ = tx.update(jax.tree.map(jnp.zeros_like, params), tx.init(params), params)
  np.testing.assert_allclose(updates["w"], -0.1 * 0.5 * 2.0 * np.ones(3), rtol=1e-6)
