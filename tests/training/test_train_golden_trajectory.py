"""Eight of our training steps against eight of the official trainer's, from the same official checkpoint.

The fixture (tests/fixtures/golden/README.md) ran the official `models/trainers/trainer.py` with its
`torch_optimizer.RAdam` in float32 on CPU. The tolerances leave room for float32 arithmetic in another
order: the official trainer with float64 parameters moves its parameters up to 1.5e-3 (relative)
away from its own float32 run over these eight steps.
"""

import jax
import numpy as np
import pytest

from ifan_jax.saved_models import any_model
from ifan_jax.training import optim
from ifan_jax.training import step as step_lib
from ifan_jax.training.default_config import default_config
from tests.conftest import load_npz

STEPS = 8
SMALL_FILTER_SIZE = 5  # golden_meta.json's Fs: a .pytorch file's shapes do not tell it.


@pytest.fixture(scope="module")
def trajectory(golden_dir):
  """(the fixture's arrays, our metrics of each step, our parameters after step 8, the start, the official end)."""
  start = any_model.load(golden_dir / "ifan_small.pytorch", filter_size=SMALL_FILTER_SIZE)
  config = default_config()
  config.model.update(start.config.to_dict())
  # The fixture's recipe; everything else (betas, eps, weight decay, loss weights) is the default.
  config.update(learning_rate=1e-3, lr_decay_steps=(3, 6), lr_decay_rate=0.5, grad_clip_norm=0.3)
  golden = load_npz(golden_dir / "trajectory_small.npz")
  batches = [
    {name: golden[f"batch{i}_{key}"] for name, key in (("blurred", "C"), ("sharp", "G"), ("left", "L"), ("right", "R"))}
    for i in (0, 1)
  ]
  tx = optim.make_optimizer(config)
  devices = jax.local_devices()[:1]
  parallel_step = step_lib.make_parallel_train_step(config, tx, optim.learning_rate_schedule(config), devices)
  state = step_lib.replicate(
    step_lib.fresh_state(config, tx, {"network": start.network, "reblur": start.reblur}), devices
  )
  metrics = []
  for t in range(STEPS):
    state, step_metrics = parallel_step(state, batches[t % 2])
    metrics.append(jax.device_get(step_metrics))
  end = any_model.load(golden_dir / "trajectory_small_final.pytorch", filter_size=SMALL_FILTER_SIZE)
  official_end = {"network": end.network, "reblur": end.reblur}
  start_params = {"network": start.network, "reblur": start.reblur}
  return golden, metrics, step_lib.unreplicate(state).params, start_params, official_end


def test_every_step_computes_the_official_losses_gradient_norm_and_rate(trajectory):
  golden, metrics, *_ = trajectory
  for name in ("deblur", "disparity", "reblur", "total"):
    ours = [float(m[f"loss/{name}"]) for m in metrics]
    np.testing.assert_allclose(ours, golden[name], rtol=1e-5, err_msg=f"{name} loss, steps 1-{STEPS}")
  grad_norms = [float(m["train/grad_norm"]) for m in metrics]
  np.testing.assert_allclose(grad_norms, golden["grad_norm"], rtol=1e-4, err_msg="gradient norm before clipping")
  rates = [float(m["train/learning_rate"]) for m in metrics]
  np.testing.assert_allclose(rates, golden["learning_rate"], rtol=1e-6, err_msg="learning rate")


def test_every_parameter_moves_as_the_official_trainer_moves_it(trajectory):
  _, _, ours, start, official = trajectory
  moves = jax.tree_util.tree_map_with_path(
    lambda path, first, last, reference: (
      jax.tree_util.keystr(path),
      np.linalg.norm(reference - first),
      np.linalg.norm(last - reference),
    ),
    start,
    ours,
    official,
  )
  worst = sorted(((gap / size, name) for name, size, gap in jax.tree.leaves(moves, is_leaf=_is_row)), reverse=True)
  assert len(worst) == 178  # every tensor of the official checkpoint
  assert worst[0][0] <= 1e-2, f"|our move - official move| / |official move| above 1e-2: {worst[:5]}"


def _is_row(x):
  return isinstance(x, tuple)
