"""Model checkpoints: parameters as an orbax checkpoint plus the architecture as JSON.

Layout of a model directory:
  config.json   {"model": IFANConfig fields, "source": where the weights came from}
  params/       orbax PyTree checkpoint of {"network": ..., "reblur": ... (optional)}
Written to a staging sibling and renamed into place, so an error or a kill never leaves a
half-written model behind. Overwriting replaces only a model directory that holds nothing
else, and renames the old one aside until the new one is in place.
"""

import json
import os
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


def _inside(path, directory) -> bool:
  path, directory = os.path.realpath(path), os.path.realpath(directory)
  return os.path.commonpath([path, directory]) == directory


def check_destination(directory, *, overwrite=False, keep=()) -> epath.Path:
  """Returns `directory` as an absolute path if a model may be written there, else raises saying why.

  A new path is fine. With `overwrite`, an existing one must be a model directory holding
  nothing else (everything in it is deleted), and contain neither the working directory
  nor any path of `keep` (e.g. the weights being converted).
  """
  directory = epath.Path(os.path.abspath(directory))
  if not os.path.lexists(directory):
    return directory
  if not overwrite:
    raise FileExistsError(f"{directory} already exists; pass overwrite=True (--overwrite) to replace it.")
  if os.path.islink(directory) or not is_model_dir(directory):
    raise FileExistsError(
      f"{directory} is not an ifan_jax model directory ({CONFIG_FILE} and {PARAMS_DIR}/), "
      "so overwrite leaves it alone: choose a new destination, or remove it yourself."
    )
  others = sorted(p.name for p in directory.iterdir() if p.name not in (CONFIG_FILE, PARAMS_DIR))
  if others:
    raise FileExistsError(
      f"{directory} holds {others} besides the model, which overwriting would delete: "
      "move them out or choose another destination."
    )
  for path in (os.getcwd(), *keep):
    if _inside(path, directory):
      raise ValueError(f"{path} lies inside {directory}, which overwriting would delete: choose another destination.")
  return directory


def _make_staging(directory):
  """Creates the staging sibling ourselves, so an unwritable destination fails here, naming the path."""
  staging = directory.parent / f".{directory.name}.tmp-{uuid.uuid4().hex[:8]}"
  try:
    directory.parent.mkdir(parents=True, exist_ok=True)
    staging.mkdir()
  except OSError as e:
    raise type(e)(
      f"Cannot write a model to {directory}: {e.strerror or e} ({e.filename}). Choose a folder you can write to."
    ) from e
  return staging


def _swap_in(staging, directory):
  """Renames `staging` to `directory`; an old model there is renamed aside first and deleted last,
  so a crash at any point leaves a complete model on disk."""
  if not directory.exists():
    staging.rename(directory)
    return
  old = directory.parent / f".{directory.name}.old-{uuid.uuid4().hex[:8]}"
  directory.rename(old)
  try:
    staging.rename(directory)
  except BaseException:
    old.rename(directory)
    raise
  shutil.rmtree(old)


def save_model(directory, config: IFANConfig, params, *, reblur_params=None, overwrite=False, source=None, keep=()):
  """Writes `params` (the IFAN tree) and optionally the reblurring network's to `directory`.

  `overwrite` and `keep`: see `check_destination`. The synchronous checkpointer raises
  orbax's errors here, with their cause, instead of leaving background threads waiting.
  """
  directory = check_destination(directory, overwrite=overwrite, keep=keep)
  tree = {"network": params}
  if reblur_params is not None:
    tree["reblur"] = reblur_params
  tree = _to_numpy(tree)
  staging = _make_staging(directory)
  try:
    with ocp.Checkpointer(ocp.StandardCheckpointHandler()) as checkpointer:
      checkpointer.save(staging / PARAMS_DIR, args=ocp.args.StandardSave(tree))
    (staging / CONFIG_FILE).write_text(json.dumps({"model": config.to_dict(), "source": source}, indent=2) + "\n")
    _swap_in(staging, directory)
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
  directory = epath.Path(os.path.abspath(directory))
  config = load_config(directory)
  with ocp.StandardCheckpointer() as checkpointer:
    tree = checkpointer.restore(directory / PARAMS_DIR)
  if with_reblur:
    return config, tree["network"], tree.get("reblur")
  return config, tree["network"]


def _to_numpy(tree):
  return {k: _to_numpy(v) if isinstance(v, dict) else np.asarray(v) for k, v in tree.items()}
