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
