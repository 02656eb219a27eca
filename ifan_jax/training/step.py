"""The training step as a pure function, and the one `jax.pmap` that runs it on every local device.

Batches are dicts of float32 images in [0, 1] (`blurred`, `sharp`, and `left`, `right` when
`views_needed_by(config)`):
`[per_device_batch, H, W, 3]` in `train_step`, a process's share `[per_process_batch, H, W, 3]`
for the parallel step. Parameters are `{"network": ..., "reblur": ...}`
(`reblur` only when the reblurring loss is on), the layout of `IFANWithReblur`.
"""

import functools
from typing import Any

import flax
import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax import lax

from ifan_jax.models import IFAN, IFANConfig, IFANWithReblur
from ifan_jax.models.ifan import SIZE_MULTIPLE
from ifan_jax.training import averaging, losses

AXIS = "batch"


@flax.struct.dataclass
class TrainState:
  """What a training step updates; everything a checkpoint needs to continue bit for bit."""

  step: jax.Array  # Completed optimiser updates, int32 scalar.
  params: Any
  opt_state: Any
  ema_params: Any = None  # The average of `params` (training/averaging.py) when config.ema_decay is set.

  @property
  def inference_params(self):
    """What validation, the best checkpoint and inference use: the average when there is one."""
    return self.params if self.ema_params is None else self.ema_params


def model_config(config) -> IFANConfig:
  return IFANConfig.from_dict(config.model.to_dict())


def views_needed_by(config) -> str | None:
  """What needs the dual-pixel views in this training, in words for the error of a dataset without them; or None."""
  if config.model.dual_pixel:
    return "the dual-pixel model (config.model.dual_pixel=True)"
  if config.use_disparity_loss:
    return "the disparity loss (config.use_disparity_loss=True; --config.use_disparity_loss=false trains without it)"
  return None


def init_params(config, rng):
  """Fresh parameters (Xavier-uniform as the reference), computed on the host CPU.

  Every device type and count gets the same values for a seed. The init runs once, so
  it is compiled without LLVM optimisation: XLA:CPU otherwise spends minutes
  optimising the random-number code of ~100 initialisers.
  """
  model = IFANWithReblur(model_config(config)) if config.use_reblur_loss else IFAN(model_config(config))
  image = np.zeros((1, 2 * SIZE_MULTIPLE, 2 * SIZE_MULTIPLE, 3), np.float32)
  views = {"left": image, "right": image} if views_needed_by(config) else {}
  if config.use_reblur_loss:
    init, args = functools.partial(model.init, **views), (image, image)
  else:
    init, args = functools.partial(model.init, train=True, **views), (image,)
  with jax.default_device(jax.local_devices(backend="cpu")[0]):
    rng = jax.device_put(rng)
    compiled = jax.jit(init).lower(rng, *args).compile(compiler_options={"xla_backend_optimization_level": 0})
    params = compiled(rng, *args)["params"]
  return params if config.use_reblur_loss else {"network": params}


def init_state(config, tx: optax.GradientTransformation, rng) -> TrainState:
  return fresh_state(config, tx, init_params(config, rng))


def fresh_state(config, tx: optax.GradientTransformation, params) -> TrainState:
  """Step 0 at `params`: a fresh optimiser, and the average (if any) starting at `params`."""
  ema_params = jax.tree.map(jnp.copy, params) if config.ema_decay is not None else None
  return TrainState(step=jnp.zeros((), jnp.int32), params=params, opt_state=tx.init(params), ema_params=ema_params)


def training_outputs(params, batch, config):
  """IFAN's training outputs for one per-device batch, plus `reblurred` when the reblurring loss is on.

  The views go in only when the training needs them: the single-image network then reads the
  blurred image alone and returns nothing for the disparity loss.
  """
  views = {"left": batch["left"], "right": batch["right"]} if views_needed_by(config) else {}
  if config.use_reblur_loss:
    return IFANWithReblur(model_config(config)).apply({"params": params}, batch["blurred"], batch["sharp"], **views)
  return IFAN(model_config(config)).apply({"params": params["network"]}, batch["blurred"], train=True, **views)


def weighted_losses(outputs, batch, config) -> dict[str, jax.Array]:
  """The reference's loss: deblurring MSE + disparity (warp) MSE + reblurring MSE, each switchable.

  `use_disparity_loss=False` trains without dual-pixel views (the reblurring loss needs only the
  blurred and sharp images).
  """
  parts = {"deblur": config.deblur_loss_weight * losses.deblur_loss(outputs, batch["sharp"])}
  if config.use_disparity_loss:
    parts["disparity"] = config.disparity_loss_weight * losses.disparity_loss(outputs)
  if config.use_reblur_loss:
    parts["reblur"] = config.reblur_loss_weight * losses.reblur_loss(outputs, batch["blurred"])
  parts["total"] = sum(parts.values())
  return parts


def train_step(state: TrainState, batch, *, config, tx: optax.GradientTransformation, learning_rate):
  """One optimiser update on this device's share of the global batch; gradients averaged over AXIS."""

  def loss_fn(params):
    parts = weighted_losses(training_outputs(params, batch, config), batch, config)
    return parts["total"], parts

  grads, parts = jax.grad(loss_fn, has_aux=True)(state.params)
  grads = lax.pmean(grads, AXIS)
  updates, opt_state = tx.update(grads, state.opt_state, state.params)
  params = optax.apply_updates(state.params, updates)
  ema_params = state.ema_params
  if ema_params is not None:
    ema_params = averaging.update(ema_params, params, state.step, config.ema_decay)
  metrics = {f"loss/{name}": value for name, value in parts.items()}
  metrics["train/grad_norm"] = optax.tree.norm(grads)  # Before clipping.
  metrics["train/learning_rate"] = learning_rate(state.step)
  metrics = lax.pmean(metrics, AXIS)
  return TrainState(step=state.step + 1, params=params, opt_state=opt_state, ema_params=ema_params), metrics


def replicate(tree, devices=None):
  """Copies a host pytree onto each local device, laid out as the pmap below lays out its outputs.

  The mesh axis carries the pmap's axis name, so the first step and every later one
  hit the same compiled executable (flax's `replicate` names it differently).
  """
  devices = devices or jax.local_devices()
  sharding = jax.NamedSharding(jax.sharding.Mesh(np.array(devices), (AXIS,)), jax.P(AXIS))
  return jax.tree.map(lambda x: jax.device_put(np.stack([np.asarray(x)] * len(devices)), sharding), tree)


def unreplicate(replicated):
  """One replica of `replicate`d (or stepped) state as numpy: the first local device's, never a gather."""
  return jax.tree.map(lambda x: np.asarray(x.addressable_shards[0].data)[0], replicated)


def make_parallel_train_step(config, tx: optax.GradientTransformation, learning_rate, devices=None):
  """The project's only `jax.pmap`: `step(state, batch) -> (state, metrics)` on every local device.

  `state` is `replicate`d (and donated); `batch` is this process's share of the global batch,
  `[per_process_batch, H, W, 3]` arrays, split here over the devices. The metrics come back as
  scalars already averaged over every device of every process. This function, `replicate` and
  `unreplicate` are all that know the per-device layout: moving to `jit` + `NamedSharding`
  changes this module only.
  """
  devices = devices or jax.local_devices()
  step = functools.partial(train_step, config=config, tx=tx, learning_rate=learning_rate)
  pmapped = jax.pmap(step, axis_name=AXIS, donate_argnums=(0,), devices=devices, out_axes=(0, None))

  def per_device(batch):
    return {k: np.reshape(v, (len(devices), -1, *np.shape(v)[1:])) for k, v in batch.items()}

  def parallel_step(state, batch):
    return pmapped(state, per_device(batch))

  # The compiled step's memory plan and cost (`.lower(state, batch).compile().memory_analysis()`), for benchmarks.
  parallel_step.lower = lambda state, batch: pmapped.lower(state, per_device(batch))
  return parallel_step
