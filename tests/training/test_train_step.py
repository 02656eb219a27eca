"""The pmapped training step: what it returns, and bf16 compute with float32 parameters."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ifan_jax.training import optim
from ifan_jax.training import step as step_lib
from tests.training.conftest import tiny_config
from tests.training.fake_data import FakeTrainIterator


@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
def test_step_updates_float32_parameters_and_reports_metrics(dtype):
  config = tiny_config()
  config.model.dtype = dtype
  tx = optim.make_optimizer(config)
  state = jax.device_get(step_lib.init_state(config, tx, jax.random.PRNGKey(0)))
  parallel_step = step_lib.make_parallel_train_step(config, tx, optim.learning_rate_schedule(config))
  batch = next(FakeTrainIterator(batch_size=config.batch_size, crop_size=config.crop_size, seed=0))

  new_state, metrics = parallel_step(step_lib.replicate(state), batch)

  assert int(new_state.step[0]) == 1
  assert {leaf.dtype for leaf in jax.tree.leaves(new_state.params)} == {jnp.dtype(jnp.float32)}
  assert set(new_state.params) == {"network", "reblur"}
  metrics = {name: float(value) for name, value in metrics.items()}  # scalars, averaged over devices
  assert set(metrics) == {
    "loss/deblur",
    "loss/disparity",
    "loss/reblur",
    "loss/total",
    "train/grad_norm",
    "train/learning_rate",
  }
  assert metrics["loss/total"] == pytest.approx(
    metrics["loss/deblur"] + metrics["loss/disparity"] + metrics["loss/reblur"], rel=1e-5
  )
  assert metrics["train/learning_rate"] == pytest.approx(config.learning_rate)
  assert np.isfinite(metrics["train/grad_norm"]) and metrics["train/grad_norm"] > 0
  for part in ("network", "reblur"):
    changed = jax.tree.leaves(
      jax.tree.map(lambda a, b: not np.array_equal(a, b[0]), state.params[part], jax.device_get(new_state.params[part]))
    )
    assert np.mean(changed) > 0.9, part


def test_without_auxiliary_losses_only_the_network_trains():
  config = tiny_config(use_disparity_loss=False, use_reblur_loss=False)
  tx = optim.make_optimizer(config)
  state = jax.device_get(step_lib.init_state(config, tx, jax.random.PRNGKey(0)))
  assert set(state.params) == {"network"}
  batch = next(FakeTrainIterator(batch_size=config.batch_size, crop_size=config.crop_size, seed=0))
  _, metrics = step_lib.make_parallel_train_step(config, tx, optim.learning_rate_schedule(config))(
    step_lib.replicate(state), batch
  )
  assert set(metrics) == {"loss/deblur", "loss/total", "train/grad_norm", "train/learning_rate"}
  assert float(metrics["loss/total"]) == pytest.approx(float(metrics["loss/deblur"]))


@pytest.mark.parametrize("use_reblur_loss", [True, False])
def test_zero_init_output_makes_a_new_network_return_its_input(use_reblur_loss):
  config = tiny_config(use_reblur_loss=use_reblur_loss)
  config.model.zero_init_output = True
  params = step_lib.init_params(config, jax.random.PRNGKey(0))
  batch = next(FakeTrainIterator(batch_size=config.batch_size, crop_size=config.crop_size, seed=0))
  result = step_lib.training_outputs(params, batch, config)["result"]
  np.testing.assert_array_equal(result, batch["blurred"])
  default = step_lib.init_params(tiny_config(use_reblur_loss=use_reblur_loss), jax.random.PRNGKey(0))
  assert np.abs(default["network"]["out_res"]["conv"]["kernel"]).max() > 0  # the reference's Xavier init


def test_the_average_follows_the_parameters_with_its_ramped_decay():
  config = tiny_config(ema_decay=0.2)
  tx = optim.make_optimizer(config)
  state = jax.device_get(step_lib.init_state(config, tx, jax.random.PRNGKey(0)))
  _assert_close(state.ema_params, state.params)
  parallel_step = step_lib.make_parallel_train_step(config, tx, optim.learning_rate_schedule(config))
  batches = FakeTrainIterator(batch_size=config.batch_size, crop_size=config.crop_size, seed=0)

  expected, replicated = state.params, step_lib.replicate(state)
  for decay in [0.1, 2 / 11, 0.2]:  # min(0.2, (1 + step) / (10 + step)) after steps 0, 1, 2
    replicated, _ = parallel_step(replicated, next(batches))
    params = step_lib.unreplicate(replicated).params
    expected = jax.tree.map(lambda e, p, d=decay: d * e + (1 - d) * p, expected, params)
  host = step_lib.unreplicate(replicated)
  _assert_close(host.ema_params, expected)
  assert host.inference_params is host.ema_params
  kernel = ("network", "out_res", "conv", "kernel")
  assert not np.allclose(_leaf(host.ema_params, kernel), _leaf(params, kernel))


def test_without_ema_decay_there_is_no_average():
  config = tiny_config()
  state = step_lib.init_state(config, optim.make_optimizer(config), jax.random.PRNGKey(0))
  assert state.ema_params is None and state.inference_params is state.params


def _assert_close(a, b):
  jax.tree.map(lambda x, y: np.testing.assert_allclose(x, y, rtol=1e-6, atol=1e-7), a, b)


def _leaf(tree, path):
  for key in path:
    tree = tree[key]
  return tree
