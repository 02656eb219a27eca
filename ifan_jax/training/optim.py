"""The reference's optimiser in optax: global-norm clipping, RAdam, decoupled weight decay, step decay."""

import optax


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

  The decay is decoupled from the adaptive rescaling (as in AdamW), so each step
  shrinks a parameter by `lr * weight_decay * p` whatever its gradient history: the
  reference's RAdam applies its `weight_decay` exactly this way.
  """
  return optax.chain(
    optax.clip_by_global_norm(config.grad_clip_norm),
    optax.scale_by_radam(b1=config.b1, b2=config.b2, eps=config.eps, threshold=config.radam_threshold),
    optax.add_decayed_weights(config.weight_decay),
    optax.scale_by_learning_rate(learning_rate_schedule(config)),
  )
