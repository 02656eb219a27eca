"""Model checkpoints: parameters as an orbax checkpoint plus the architecture as JSON.

Layout of a model directory:
  config.json   {"model": IFANConfig fields, "source": where the weights came from}
  params/       orbax PyTree checkpoint of {"network": ..., "reblur": ... (optional)}
Written to a temporary sibling and renamed into place, so an error or a kill never
leaves a half-written model behind.
"""

import json
import shutil
import uuid

import numpy as np
import orbax.checkpoint as ocp
from etils import epath

from ifan_jax.models import IFANConfig

CONFIG_FILE = "config.json"
PARAMS_DIR = "params"


def is_model_dir(directory) -> bool:
  directory = epath.Path(directory)
  return (directory / CONFIG_FILE).exists() and (directory / PARAMS_DIR).exists()


def save_model(directory, config: IFANConfig, params, *, reblur_params=None, overwrite=False, source=None):
  """Writes `params` (the IFAN tree) and optionally the reblurring network's to `directory`."""
  directory = epath.Path(directory).absolute()
  if directory.exists() and not overwrite:
    raise FileExistsError(f"{directory} already exists; pass overwrite=True (--overwrite) to replace it.")
  tree = {"network": params}
  if reblur_params is not None:
    tree["reblur"] = reblur_params
  tree = _to_numpy(tree)
  staging = directory.parent / f".{directory.name}.tmp-{uuid.uuid4().hex[:8]}"
  staging.parent.mkdir(parents=True, exist_ok=True)
  try:
    with ocp.StandardCheckpointer() as checkpointer:
      checkpointer.save(staging / PARAMS_DIR, tree)
      checkpointer.wait_until_finished()
    (staging / CONFIG_FILE).write_text(json.dumps(
        {"model": config.to_dict(), "source": source}, indent=2) + "\n")
    if directory.exists():
      shutil.rmtree(directory)
    staging.rename(directory)
  finally:
    if staging.exists():
      shutil.rmtree(staging)


def load_config(directory) -> IFANConfig:
  path = epath.Path(directory) / CONFIG_FILE
  if not path.exists():
    raise FileNotFoundError(f"{directory} is not an ifan_jax model directory: no {CONFIG_FILE}.")
  try:
    return IFANConfig.from_dict(json.loads(path.read_text())["model"])
  except (json.JSONDecodeError, KeyError, TypeError) as e:
    raise ValueError(f"{path} is not a valid model config: {e}") from e


def load_model(directory, *, with_reblur=False):
  """Returns `(config, params)`, or `(config, params, reblur_params)` with `with_reblur=True`."""
  directory = epath.Path(directory).absolute()
  config = load_config(directory)
  with ocp.StandardCheckpointer() as checkpointer:
    tree = checkpointer.restore(directory / PARAMS_DIR)
  if with_reblur:
    return config, tree["network"], tree.get("reblur")
  return config, tree["network"]


def _to_numpy(tree):
  return {k: _to_numpy(v) if isinstance(v, dict) else np.asarray(v) for k, v in tree.items()}
