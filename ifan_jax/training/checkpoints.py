"""Training checkpoints in a workdir: orbax managers for the latest few and for the best by PSNR.

Layout of WORKDIR's saves (every name in a workdir lives in `ifan_jax.saved_models.run_dir`):
  checkpoints/<step>/   the last `keep` saves (every K steps, at the end, on SIGTERM)
  checkpoints/<step>.damaged-<time>/  a save that could not be read, moved aside by a resume
  best/<step>/          the save with the highest validation PSNR so far
Each save holds `params`, `opt_state` and, when the run averages its parameters, `ema_params`
(numpy pytrees, written by process 0), `meta` (JSON: step, model config, validation metrics,
process count, the shape of every array) and `pipeline` (one JSON file per process: each
host's input-pipeline state).

Saves are synchronous, so that a failing save stops the run at its step and costs no
older checkpoint. Reads fall back to the newest checkpoint that can be read.
"""

import dataclasses
import json
import re
import time
from typing import Any

import jax
import numpy as np
import orbax.checkpoint as ocp
from absl import logging
from etils import epath
from jax.experimental import multihost_utils

from ifan_jax.io.paths import absolute
from ifan_jax.saved_models import run_dir
from ifan_jax.saved_models.run_dir import BEST_DIR, LATEST_DIR, TRAIN_CONFIG_FILE, CheckpointError
from ifan_jax.training import tree_diff


class Mismatch(ValueError):
  """A checkpoint that can be read but belongs to another configuration (no older one is tried)."""


def _everywhere(ok: bool) -> bool:
  """Whether `ok` holds on every process (they must all restore the same step)."""
  if jax.process_count() == 1:
    return ok
  return bool(np.all(multihost_utils.process_allgather(np.asarray(ok))))


def _missing_pipeline_state(directory: epath.Path, saved_count: int | None) -> str:
  """Why `process_<i>.json` is missing: lost, or (only if the save says so) another process count.

  `saved_count` is the process count in the save's meta; older saves lack it, and then the
  highest `process_<j>.json` present stands for it.
  """
  index, count = jax.process_index(), jax.process_count()
  names = [p.name for p in directory.iterdir()] if directory.is_dir() else []
  found = sorted(int(m.group(1)) for name in names if (m := re.fullmatch(r"process_(\d+)\.json", name)))
  if saved_count is None and found:
    saved_count = max(found) + 1
  message = f"No input-pipeline state for process {index}: {directory / f'process_{index}.json'} is missing"
  if saved_count is not None and saved_count != count:
    written = f"{saved_count} process" + ("es" if saved_count > 1 else "")
    return (
      f"{message}; the checkpoint was written by a run of {written} and this run has {count}: resume it with {written}."
    )
  others = ", ".join(f"process_{i}.json" for i in found) or "no process's file"
  return f"{message} (the folder holds {others}): the file was lost."


class PipelineStateHandler(ocp.CheckpointHandler):
  """Saves each process's input-pipeline state to its own `process_<i>.json`.

  orbax's JSON handler writes from the primary host only, but every host reads its
  own shard of the data and so has its own position in it. grain ships a handler for this
  (`grain.checkpoint.CheckpointHandler`), but it takes only grain's own iterators (ours adds
  the settings a state is valid for) and reports a lost file as "does not exist", where a
  resume must say whether the file was lost or the process count changed.
  """

  def save(self, directory: epath.Path, args: "PipelineSave"):
    directory.mkdir(parents=True, exist_ok=True)
    (directory / f"process_{jax.process_index()}.json").write_text(json.dumps(args.state))

  def restore(self, directory: epath.Path, args: "PipelineRestore | None" = None) -> Any:
    path = directory / f"process_{jax.process_index()}.json"
    if not path.exists():
      raise FileNotFoundError(_missing_pipeline_state(directory, args.process_count if args else None))
    return json.loads(path.read_text())


@ocp.args.register_with_handler(PipelineStateHandler, for_save=True)
@dataclasses.dataclass
class PipelineSave(ocp.args.CheckpointArgs):
  state: Any


# orbax refuses to save an item whose handler has no restore arguments registered; resumes
# call the handler's restore directly, so that all processes agree first (TrainingCheckpoints).
@ocp.args.register_with_handler(PipelineStateHandler, for_restore=True)
@dataclasses.dataclass
class PipelineRestore(ocp.args.CheckpointArgs):
  process_count: int | None = None  # Of the run that saved (from meta), for the error if a file is missing.


@dataclasses.dataclass
class Restored:
  step: int
  arrays: dict  # The templates' items: params, opt_state (and ema_params), as numpy.
  pipeline_state: Any
  meta: dict


def _abstract(tree):
  return jax.tree.map(lambda x: jax.ShapeDtypeStruct(np.shape(x), x.dtype), tree)


def _check_shapes(saved: dict | None, templates: dict, where: epath.Path):
  """Raises Mismatch naming the arrays that differ between a save and what this run builds."""
  if saved is None:  # Written before checkpoints recorded their shapes.
    return
  problems = [f"{item} only in the checkpoint" for item in saved if item not in templates]
  problems += [f"{item} only in this run" for item in templates if item not in saved]
  for item in (item for item in templates if item in saved):
    differences = tree_diff.differences(
      saved[item], tree_diff.shapes(templates[item]), theirs_are="the checkpoint", ours_are="this run"
    )
    problems += [f"{item} {difference}" for difference in differences]
  if problems:
    raise Mismatch(
      f"Cannot resume from {where}: its arrays differ from what this config builds ("
      f"{'; '.join(problems)}). A training option that changes the parameters or the optimiser "
      "(e.g. use_reblur_loss, or ema_decay set or not) differs from the run's: use a new --workdir, or the "
      f"run's original settings ({TRAIN_CONFIG_FILE} in the workdir)."
    )


def _manager(directory: epath.Path, keep: int) -> ocp.CheckpointManager:
  # Synchronous saves: a failing save raises in `save()` at its step, before orbax deletes
  # any older step for max_to_keep (an asynchronous one fails in a background thread and
  # surfaces at the next save). Both managers save the same steps: distinct barrier names
  # keep their cross-host synchronisation apart (shared names deadlock a multi-process run).
  return ocp.CheckpointManager(
    directory,
    options=ocp.CheckpointManagerOptions(
      max_to_keep=keep,
      create=True,
      enable_async_checkpointing=False,
      multiprocessing_options=ocp.options.MultiprocessingOptions(barrier_sync_key_prefix=directory.name),
    ),
  )


class TrainingCheckpoints:
  """The two orbax managers of a training run, saving host-side (numpy) copies of the state.

  Host-local pmapped arrays cannot be written in a multi-process run, so callers pass
  numpy pytrees (one replica), and restored values come back as numpy too. A context
  manager: leaving it closes the managers.
  """

  def __init__(self, workdir, *, keep: int):
    workdir = absolute(workdir)
    self.latest = _manager(workdir / LATEST_DIR, keep)
    self.best = _manager(workdir / BEST_DIR, 1)

  def __enter__(self):
    return self

  def __exit__(self, *exc):
    self.close()

  def save(self, step: int, arrays: dict, pipeline_state, meta: dict, *, is_best: bool = False):
    """Saves `arrays` (items named as in the module docstring) to `checkpoints/` (unless this step
    is already there) and, if `is_best`, to `best/`.

    Returns once the save is on disk; a failure raises CheckpointError (older saves stay).
    """
    args = ocp.args.Composite(
      **{item: ocp.args.StandardSave(tree) for item, tree in arrays.items()},
      meta=ocp.args.JsonSave(
        dict(
          meta,
          step=step,
          process_count=jax.process_count(),
          shapes={item: tree_diff.shapes(tree) for item, tree in arrays.items()},
        )
      ),
      pipeline=PipelineSave(pipeline_state),
    )
    for manager, wanted in ((self.latest, True), (self.best, is_best)):
      if wanted and manager.latest_step() != step:
        self._save(manager, step, args)

  def _save(self, manager: ocp.CheckpointManager, step: int, args):
    run_dir.drop_abandoned_reports()
    previous = manager.latest_step()
    try:
      manager.save(step, args=args)
    except Exception as error:  # pylint: disable=broad-exception-caught
      kept = f"the checkpoint at step {previous} is kept" if previous is not None else "there is no earlier one"
      raise CheckpointError(
        f"Saving the checkpoint at step {step} to {manager.directory / str(step)} failed "
        f"({run_dir.describe(error)}); {kept}. Fix the cause (space, permissions) and rerun to "
        "resume."
      ) from None

  def latest_step(self) -> int | None:
    return self.latest.latest_step()

  def latest_meta(self) -> dict | None:
    """`meta` of the newest save in `checkpoints/` whose meta can be read (what a resume starts from), or None."""
    steps = self.latest.all_steps()
    if not steps:
      return None
    args = ocp.args.Composite(meta=ocp.args.JsonRestore())
    meta, _ = run_dir.newest_readable(self.latest.directory, steps, lambda s: self.latest.restore(s, args=args).meta)
    return meta

  def best_meta(self) -> dict | None:
    """`meta` of the best save so far (its `psnr` is what a new save must beat), or None."""
    step = self.best.latest_step()
    if step is None:
      return None
    try:
      return self.best.restore(step, args=ocp.args.Composite(meta=ocp.args.JsonRestore())).meta
    except Exception as error:  # pylint: disable=broad-exception-caught
      logging.warning(
        "The best checkpoint %s cannot be read (%s): the next validation replaces it.",
        self.best.directory / str(step),
        run_dir.describe(error),
      )
      return None

  def restore_latest(self, templates: dict, *, check_meta=None) -> Restored | None:
    """The newest readable save in `checkpoints/`, restored onto the structure of `templates`
    (item name -> pytree, as `save`'s `arrays`); None if none.

    `check_meta(meta, path)` sees each save's meta before its arrays are read and raises
    Mismatch to refuse it. Newer saves that cannot be read are moved aside (with a
    warning); CheckpointError when no save can be read.
    """
    steps = self.latest.all_steps()
    if not steps:
      return None
    restored, unreadable = run_dir.newest_readable(
      self.latest.directory, steps, lambda s: self._restore(s, templates, check_meta), fatal=(Mismatch,)
    )
    if unreadable:
      self._move_aside(unreadable)
    return restored

  def _restore(self, step: int, templates: dict, check_meta) -> Restored:
    path = self.latest.directory / str(step)
    meta = self.latest.restore(step, args=ocp.args.Composite(meta=ocp.args.JsonRestore())).meta
    if check_meta is not None:
      check_meta(meta, path)
    _check_shapes(meta.get("shapes"), templates, path)
    # Each process reads its own pipeline file: all must agree before the shared read below.
    pipeline_state, error = None, None
    try:
      pipeline_state = PipelineStateHandler().restore(path / "pipeline", PipelineRestore(meta.get("process_count")))
    except (OSError, ValueError) as failure:
      error = failure
    if not _everywhere(error is None):
      raise error or CheckpointError(f"another process cannot read its input-pipeline state in {path}")
    arrays = self.latest.restore(
      step,
      args=ocp.args.Composite(
        **{item: ocp.args.StandardRestore(_abstract(template)) for item, template in templates.items()}
      ),
    )
    return Restored(step=step, arrays=dict(arrays), pipeline_state=pipeline_state, meta=meta)

  def _move_aside(self, steps: list[int]):
    """Renames unreadable saves newer than the restored one, which the resumed run saves again."""
    if jax.process_index() == 0:
      stamp = time.strftime("%Y%m%d-%H%M%S")
      for step in steps:
        source = self.latest.directory / str(step)
        target = source.parent / f"{step}.damaged-{stamp}"
        source.rename(target)
        logging.warning("Moved the unreadable checkpoint %s to %s.", source, target)
    if jax.process_count() > 1:
      multihost_utils.sync_global_devices("ifan_jax: unreadable checkpoints moved aside")
    self.latest.reload()

  def close(self):
    self.latest.close()
    self.best.close()
