"""Fine-tuning: a run whose network starts from another model's parameters (`config.init_from`).

The model config comes from where the parameters come from: the `init_from` source on a first
start, the workdir's own checkpoint on a resume (which ignores `init_from`). Fields named in
`overrides` (the `--config.model.X=...` of the command line) win, and so do the fields that only
choose how the same model is computed (`EXECUTION_FIELDS`). The optimiser always starts fresh.
"""

import copy
from collections.abc import Collection

import jax
import numpy as np
from absl import logging

from ifan_jax.models import IFANConfig
from ifan_jax.models.ifan_config import EXECUTION_FIELDS
from ifan_jax.saved_models import any_model
from ifan_jax.training import tree_diff


def resolve(config, latest_meta: dict | None, overrides: Collection[str] = ()):
  """`(config, source)`: `config` with its model config taken as the module says, and the model to start from.

  `latest_meta` is the meta of the workdir's newest checkpoint (None: a first start). `source` is
  None unless this start initialises from `config.init_from`. `overrides` are config keys given
  on the command line ("model.channels", ...). `config` itself is left as it is.
  """
  if not config.init_from:
    return config, None
  if latest_meta is not None:
    logging.warning("The workdir has checkpoints: resuming from them, not from init_from=%s.", config.init_from)
    return _with_model(config, IFANConfig.from_dict(latest_meta["model"]), overrides, "the workdir's checkpoint"), None
  model = config.model
  source = any_model.load(
    config.init_from, filter_size=model.filter_size, reblur_filter_size=model.reblur_filter_size, in_bit=model.in_bit
  )
  return _with_model(config, source.config, overrides, source.path), source


def _with_model(config, model: IFANConfig, overrides: Collection[str], where: str):
  """A copy of `config` whose model fields are `model`'s, except the overridden and the execution ones."""
  keep = {key.removeprefix("model.") for key in overrides if key.startswith("model.")} | set(EXECUTION_FIELDS)
  resolved = copy.deepcopy(config)
  for name, value in model.to_dict().items():
    if name in keep or resolved.model[name] == value:
      continue
    logging.info("model.%s=%r from %s (the config has %r).", name, value, where, resolved.model[name])
    resolved.model[name] = value
  return resolved


def initial_params(fresh: dict, source: any_model.Model, *, use_reblur_loss: bool) -> dict:
  """The run's first parameters: `source`'s network (and reblurring network, where it has one) in
  the structure of `fresh` (a new initialisation of this config), which supplies what `source` lacks.

  A ValueError lists the parameters that do not match in name or shape.
  """
  params = {"network": source.network}
  if use_reblur_loss:
    if source.reblur is None:
      logging.info("%s has no reblurring network: it starts from a fresh initialisation.", source.path)
    params["reblur"] = fresh["reblur"] if source.reblur is None else source.reblur
  _check_shapes(tree_diff.shapes(params), tree_diff.shapes(fresh), source.path)
  return jax.tree.map(np.asarray, params)


def _check_shapes(theirs: dict, ours: dict, where: str):
  problems = tree_diff.differences(theirs, ours, theirs_are="the source", ours_are="this run's model")
  if problems:
    raise ValueError(
      f"config.init_from={where} does not fit this run's model: its parameters differ ({'; '.join(problems)}). "
      "Drop the --config.model.* overrides that change the architecture, or start from a matching model."
    )
