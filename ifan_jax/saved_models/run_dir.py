"""A training run's workdir: the one description of its layout, where its saves are, and its model.

Layout of WORKDIR (written by `ifan_jax.training`, which takes every name from here):
  checkpoints/<step>/   the latest saves: params, opt_state (and ema_params), meta (JSON), pipeline
                        (per process)
  best/<step>/          the save with the highest validation PSNR so far
  train_config.json     the run's settings, as it started
  metrics.jsonl         training and validation scalars, one JSON object per line
  tensorboard/          the same scalars and sample images as TensorBoard event files
  final_metrics.json    the validation at the end of the run
  .lock                 held by the running process 0, so that a second run on the workdir stops
Inference loads the network's parameters (their average, if the run kept one) and the model
config (meta["model"]) of the newest save that can be read; training resumes through the same
fallback.
"""

import logging as std_logging
import os
import sys
from typing import Any

import orbax.checkpoint as ocp
from absl import logging
from etils import epath

from ifan_jax.io.paths import absolute
from ifan_jax.models import IFANConfig

LATEST_DIR = "checkpoints"
BEST_DIR = "best"
TRAIN_CONFIG_FILE = "train_config.json"
METRICS_FILE = "metrics.jsonl"
TENSORBOARD_DIR = "tensorboard"
FINAL_METRICS_FILE = "final_metrics.json"
LOCK_FILE = ".lock"


class CheckpointError(RuntimeError):
  """A checkpoint could not be written, or no checkpoint of a folder can be read."""


def describe(error: BaseException) -> str:
  """`Type: message`, without the kilobyte-long specs that tensorstore appends to its errors."""
  return f"{type(error).__name__}: {str(error).split(' [tensorstore_spec=')[0].strip()}"


# The module whose threads log their exception with a traceback, then hand it to the waiting caller.
_ORBAX_THREADS = os.path.join("orbax", "checkpoint", "_src", "futures", "future.py")


class _OneLineThreadErrors(std_logging.Filter):
  """Keeps orbax's log of an exception in one of its background threads to its one line."""

  def filter(self, record):
    if record.pathname.endswith(_ORBAX_THREADS) and record.exc_info:
      record.exc_info, record.exc_text = None, None
    return True


def drop_abandoned_reports():
  """Silences the dozens of tracebacks that come with a failed orbax read or save.

  When one array of a checkpoint cannot be read (or written: a full disk), orbax closes the event
  loop of the operation while tensorstore still completes the others; each completion then reports
  a RuntimeError through `sys.unraisablehook`. Those reports say nothing about the checkpoint: this
  hook (installed once, chaining to the previous one) drops exactly them. orbax's background threads
  also log their exception with a 30-line traceback each before the caller gets it: their log keeps
  its line, without the traceback (the caller's error says it in full).
  """
  absl_logger = logging.get_absl_logger()
  if not any(isinstance(f, _OneLineThreadErrors) for f in absl_logger.filters):
    absl_logger.addFilter(_OneLineThreadErrors())
  previous = sys.unraisablehook
  if getattr(previous, "drops_abandoned_reads", False):
    return

  def hook(unraisable):
    if isinstance(unraisable.exc_value, RuntimeError) and str(unraisable.exc_value) == "Event loop is closed":
      return
    previous(unraisable)

  hook.drops_abandoned_reads = True
  sys.unraisablehook = hook


def newest_readable(directory: epath.Path, steps: list[int], read, *, fatal=()) -> tuple[Any, list[int]]:
  """`(read(step), the unreadable newer steps)` for the newest step that `read` manages.

  Logs a warning for each step that fails (an exception of a `fatal` type propagates: no
  older step is tried); CheckpointError when none can be read.
  """
  drop_abandoned_reports()
  failures = []
  for step in sorted(steps, reverse=True):
    try:
      return read(step), [failed for failed, _ in failures]
    except fatal:
      raise
    except Exception as error:  # pylint: disable=broad-exception-caught
      failures.append((step, describe(error)))
      logging.warning("The checkpoint at step %d (%s) cannot be read: %s", step, directory / str(step), failures[-1][1])
  raise CheckpointError(
    f"No checkpoint in {directory} can be read: "
    + "; ".join(f"step {s}: {e}" for s, e in failures)
    + ". To train in this workdir again, move them aside (or use a new --workdir)."
  )


def steps(directory: epath.Path) -> list[int]:
  if not directory.is_dir():
    return []
  return sorted(int(p.name) for p in directory.iterdir() if p.name.isdigit() and (p / "meta").is_dir())


def training_run_dir(path) -> epath.Path | None:
  """The checkpoint folder `path` names: WORKDIR -> WORKDIR/checkpoints; `best/` or `checkpoints/` as is.

  None when `path` is neither a training workdir nor one of its checkpoint folders.
  """
  path = absolute(path)
  for candidate in (path / LATEST_DIR, path):
    if steps(candidate):
      return candidate
  return None


def _inference_arrays(manager: ocp.CheckpointManager, step: int) -> tuple[dict, dict]:
  """`(meta, params)` of a save: its `ema_params` when the run averaged its parameters."""
  meta = manager.restore(step, args=ocp.args.Composite(meta=ocp.args.JsonRestore())).meta
  item = "ema_params" if "ema_params" in meta.get("shapes", {}) else "params"
  return meta, manager.restore(step, args=ocp.args.Composite(**{item: ocp.args.StandardRestore()}))[item]


def load_trained_model(path, *, with_reblur=False) -> tuple:
  """`(config, network_params)` of a training run: WORKDIR's latest checkpoint, or WORKDIR/best's
  (the parameters' average when the run kept one: config.ema_decay).

  With `with_reblur=True`, `(config, network_params, reblur_params or None)`. A checkpoint that
  cannot be read is skipped with a warning for the newest one that can.
  """
  directory = training_run_dir(path)
  if directory is None:
    raise FileNotFoundError(f"{path} holds no training checkpoint ({LATEST_DIR}/<step> or <step>/ folders).")
  with ocp.CheckpointManager(directory, options=ocp.CheckpointManagerOptions(read_only=True)) as manager:
    meta, params = newest_readable(directory, steps(directory), lambda step: _inference_arrays(manager, step))[0]
  config = IFANConfig.from_dict(meta["model"])
  return (config, params["network"], params.get("reblur")) if with_reblur else (config, params["network"])
