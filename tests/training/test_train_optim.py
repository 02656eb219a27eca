"""The optimiser against a hand-written RAdam + decoupled weight decay + clipping + step decay."""

import jax
import jax.numpy as jnp
import numpy as np
import optax

from ifan_jax.training import optim
from tests.training.conftest import tiny_config


def reference_updates(grads, params, steps, *, lr, decay_steps, decay_rate, b1, b2, eps, threshold, weight_decay, clip):
  """RAdam (Liu et al. 2020) in numpy, step by step, as the reference trainer configures it."""
  m = np.zeros_like(params)
  v = np.zeros_like(params)
  rho_inf = 2 / (1 - b2) - 1
  p = params.copy()
  for t in range(1, steps + 1):
    g = grads(p)
    g = g * min(1.0, clip / np.linalg.norm(g))
    rate = lr * decay_rate ** sum(t - 1 > s for s in decay_steps)  # As the reference's LR_decay.
    m = b1 * m + (1 - b1) * g
    v = b2 * v + (1 - b2) * g * g
    m_hat = m / (1 - b1**t)
    rho = rho_inf - 2 * t * b2**t / (1 - b2**t)
    if rho >= threshold:
      r = np.sqrt((rho - 4) * (rho - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho))
      step = r * m_hat / (np.sqrt(v / (1 - b2**t)) + eps)
    else:  # Variance not tractable yet: plain bias-corrected momentum.
      step = m_hat
    p = p - rate * (step + weight_decay * p)
  return p


def test_optimizer_matches_hand_written_radam_on_a_quadratic():
  config = tiny_config(
    learning_rate=0.05, lr_decay_steps=(4, 8), lr_decay_rate=0.5, weight_decay=0.1, grad_clip_norm=2.0
  )
  rng = np.random.default_rng(0)
  a = rng.normal(size=(6, 5)).astype(np.float64)
  b = rng.normal(size=6)
  params0 = rng.normal(size=5)

  def grads(p):
    return a.T @ (a @ p - b)

  # 12 steps: the first 5 are momentum steps (rho_t < 5), the rest rectified; both decays pass.
  expected = reference_updates(
    grads,
    params0,
    12,
    lr=0.05,
    decay_steps=(4, 8),
    decay_rate=0.5,
    b1=0.9,
    b2=0.999,
    eps=1e-8,
    threshold=5.0,
    weight_decay=0.1,
    clip=2.0,
  )
  # In float64: in float32, rho_t - 4 near the threshold loses digits to cancellation.
  with jax.enable_x64(True):
    tx = optim.make_optimizer(config)
    params = jnp.asarray(params0)
    state = tx.init(params)
    for _ in range(12):
      updates, state = tx.update(jnp.asarray(grads(np.asarray(params))), state, params)
      params = optax.apply_updates(params, updates)
  np.testing.assert_allclose(params, expected, rtol=1e-12)
  assert np.abs(expected - params0).max() > 0.1  # The steps really moved the parameters.


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
