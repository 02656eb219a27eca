"""An exponential moving average of the parameters, the weights that validation and inference use.

A run of minutes at a high learning rate ends with parameters that jitter around a good point;
their average sits nearer it, and it costs one multiply-add per parameter per step.
"""

import jax.numpy as jnp
import optax


def decay_at(step, decay: float):
  """The decay for the update after `step` completed steps: `min(decay, (1 + step) / (10 + step))`.

  The ramp (TensorFlow's `ExponentialMovingAverage` with `num_updates`) lets the average follow the
  fast early changes instead of holding on to the initial parameters for ~1 / (1 - decay) steps.
  """
  step = jnp.asarray(step, jnp.float32)
  return jnp.minimum(decay, (1 + step) / (10 + step))


def update(average, params, step, decay: float):
  """The average after the update that followed `step` completed steps."""
  return optax.incremental_update(params, average, 1 - decay_at(step, decay))
