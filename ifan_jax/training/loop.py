"""The training loop: data, parallel steps, logging, validation, checkpoints, resume and preemption."""

import contextlib
import functools
import math
import time
import uuid

import jax
import numpy as np
from absl import logging
from etils import epath
from tqdm import tqdm

from ifan_jax.data import mixture
from ifan_jax.io import locks, paths, strict_json
from ifan_jax.io.paths import absolute
from ifan_jax.models import IFANConfig
from ifan_jax.models.ifan import SIZE_MULTIPLE
from ifan_jax.models.ifan_config import EXECUTION_FIELDS, RECORD_FIELDS
from ifan_jax.saved_models.run_dir import BEST_DIR, FINAL_METRICS_FILE, LATEST_DIR, LOCK_FILE, TRAIN_CONFIG_FILE
from ifan_jax.training import init_from, optim, summaries, validation
from ifan_jax.training import step as step_lib
from ifan_jax.training.checkpoints import Mismatch, TrainingCheckpoints
from ifan_jax.training.preemption import StopOnSigterm

# A step whose loss or gradient norm is not finite stops the run.
GUARDED_METRICS = ("loss/total", "train/grad_norm")
# The values a float field may take: (low, high, whether low itself is allowed); high is excluded.
# Every bound is finite or infinite, so NaN (which compares false) is refused too.
_FLOAT_RANGES = {
  "learning_rate": (0, math.inf, True),  # 0 trains nothing: a frozen start that checks init_from
  "lr_decay_rate": (0, math.inf, False),
  "b1": (0, 1, True),
  "b2": (0, 1, True),
  "eps": (0, math.inf, False),
  "weight_decay": (0, math.inf, True),
  "grad_clip_norm": (0, math.inf, False),
  "ema_decay": (0, 1, True),
  "deblur_loss_weight": (0, math.inf, True),
  "disparity_loss_weight": (0, math.inf, True),
  "reblur_loss_weight": (0, math.inf, True),
}


def _check_floats(config):
  for name, (low, high, low_allowed) in _FLOAT_RANGES.items():
    value = config[name]
    if value is None:  # ema_decay: no average
      continue
    if not ((low <= value if low_allowed else low < value) and value < high):
      interval = f"{'[' if low_allowed else '('}{low}, {high})"
      raise ValueError(f"config.{name}={value} must be a number in {interval}.")


def check_config(config):
  """Raises a ValueError naming the field when the config cannot run on the devices at hand."""
  _check_floats(config)
  mixture.parse(config.dataset)  # Weights finite and positive, each member once: named now, not at the first batch.
  if config.crop_size % SIZE_MULTIPLE:
    raise ValueError(f"config.crop_size={config.crop_size} must be a multiple of {SIZE_MULTIPLE}.")
  if config.batch_size % jax.device_count():
    raise ValueError(
      f"config.batch_size={config.batch_size} (global) must be divisible by the {jax.device_count()} devices."
    )
  for name in ("total_steps", "log_every_steps", "eval_every_steps", "checkpoint_every_steps", "keep_checkpoints"):
    if config[name] <= 0:
      raise ValueError(f"config.{name} must be positive, got {config[name]}.")
  if config.model.dual_pixel and not config.use_disparity_loss:
    logging.info("Training the dual-pixel model without the disparity loss.")


def _summarise(buffered, last_step: int, latest_checkpoint) -> dict[str, float]:
  """Means of the buffered per-step metrics; raises FloatingPointError at the first non-finite step."""
  host = jax.device_get(buffered)
  first_step = last_step - len(host) + 1
  for offset, metrics in enumerate(host):
    for name in GUARDED_METRICS:
      value = float(metrics[name])
      if not math.isfinite(value):
        raise FloatingPointError(
          f"{name} is {value} at step {first_step + offset}: stopping. {_kept(latest_checkpoint)}"
        )
  return {name: float(np.mean([m[name] for m in host])) for name in host[0]}


def _check_finite_parameters(state: step_lib.TrainState, step: int, latest_checkpoint):
  """Raises FloatingPointError when the parameters or their average hold NaN or infinity: before a save,
  so that the last good checkpoint stays the latest (a finite loss does not prove a finite average)."""
  for name, tree in (("parameters", state.params), ("parameters' average (ema_decay)", state.ema_params)):
    if tree is not None and not all(np.isfinite(leaf).all() for leaf in jax.tree.leaves(tree)):
      raise FloatingPointError(
        f"The {name} hold non-finite values at step {step}: stopping before saving. {_kept(latest_checkpoint)}"
      )


def _kept(latest_checkpoint) -> str:
  """What a run stopped by a non-finite value leaves to resume from."""
  if latest_checkpoint is None:
    return "No checkpoint was saved before it."
  return f"The last checkpoint (step {latest_checkpoint}) was written before it and is kept."


def _default_datasets():
  from ifan_jax.data import pipeline  # pylint: disable=import-outside-toplevel

  return pipeline


def _prepare_workdir(workdir: epath.Path):
  """Creates WORKDIR and its checkpoint folders; fails now, not at the first save, if one cannot take files."""
  for directory in (workdir, workdir / LATEST_DIR, workdir / BEST_DIR):
    try:
      directory.mkdir(parents=True, exist_ok=True)
      probe = directory / f".write_check_{uuid.uuid4().hex}"
      probe.write_text("")
      probe.unlink()
    except OSError as error:
      raise OSError(
        f"Cannot write in {directory} ({error.strerror or error}): choose a writable --workdir, or fix its permissions."
      ) from None


def _workdir_lock(workdir: epath.Path):
  """Process 0 holds WORKDIR/.lock for the whole run: a second run on the same workdir fails at once."""
  if jax.process_index() != 0:
    return contextlib.nullcontext()
  if not paths.is_local(workdir):
    logging.warning("%s is not a local path: it is not locked against a second run on it.", workdir)
    return contextlib.nullcontext()
  return locks.exclusive(workdir / LOCK_FILE, what=f"training workdir {workdir}")


def eval_dataset(config) -> str:
  """The dataset validated on: `config.eval_dataset`, else `config.dataset` (a mixture's first member)."""
  return config.eval_dataset or mixture.first(config.dataset)


# The splits validated on when config.eval_split is None: the first the dataset has.
EVAL_SPLIT_FALLBACKS = ("validation", "test")


def choose_eval_split(config, datasets) -> str | None:
  """The split validated on: `config.eval_split` if given (it must exist), else the first of
  `EVAL_SPLIT_FALLBACKS` that the dataset has, else None (training without validation). Logged."""
  dataset = eval_dataset(config)
  if config.eval_split is not None:
    return config.eval_split
  held = datasets.splits(dataset, config.data_dir)
  for split in EVAL_SPLIT_FALLBACKS:
    if split in held:
      if split != EVAL_SPLIT_FALLBACKS[0]:
        logging.warning("Dataset %r has no %r split: validating on %r.", dataset, EVAL_SPLIT_FALLBACKS[0], split)
      else:
        logging.info("Validating on %r of %r.", split, dataset)
      return split
  logging.warning(
    "Dataset %r has neither of %s (it has %s): training without validation.",
    dataset,
    " nor ".join(map(repr, EVAL_SPLIT_FALLBACKS)),
    ", ".join(held),
  )
  return None


def _check_eval_split(config, split, datasets):
  """Reads the first validation image: a misspelt `eval_split` fails now, not at the first validation."""
  dataset = eval_dataset(config)
  images = datasets.eval_iterator(dataset=dataset, data_dir=config.data_dir, split=split, limit=1)
  try:
    next(iter(images))
  except StopIteration:
    raise ValueError(f"Split {split!r} of dataset {dataset!r} holds no image to validate on.") from None
  except Exception as error:
    error.add_note(f"(Checked before training: config.eval_split={config.eval_split!r}.)")
    raise


def _saved_arrays(state: step_lib.TrainState) -> dict:
  """A checkpoint's arrays, named as TrainState's fields; `ema_params` only when the run averages."""
  arrays = {"params": state.params, "opt_state": state.opt_state}
  if state.ema_params is not None:
    arrays["ema_params"] = state.ema_params
  return arrays


def _check_same_model(model_config, meta: dict, where):
  """Refuses to resume with another model, before the workdir changes.

  Only `EXECUTION_FIELDS` (dtype, the IAC implementation, the fused filter head), which compute the same
  model with the same parameters, and `RECORD_FIELDS` (in_bit), which no computation reads, may change.
  """
  saved, new = IFANConfig.from_dict(meta["model"]).to_dict(), model_config.to_dict()
  changed = [name for name in saved if saved[name] != new[name]]
  differences = [
    f"model.{name}={saved[name]!r} in the checkpoint, {new[name]!r} now"
    for name in changed
    if name not in EXECUTION_FIELDS + RECORD_FIELDS
  ]
  if differences:
    raise Mismatch(
      f"Cannot resume from {where} with another model config: {'; '.join(differences)}. Use a new "
      "--workdir, or the original values."
    )
  for name in changed:
    logging.info("Resuming with model.%s=%r (the checkpoint was trained with %r).", name, new[name], saved[name])


def train_and_evaluate(config, workdir, *, datasets=None, overrides=()) -> dict | None:
  """Trains IFAN as `config` says, in `workdir` (resuming from its latest checkpoint if any).

  `datasets` provides `train_iterator` and `eval_iterator` as `ifan_jax.data.pipeline`
  does (the default; it builds `synthetic_dp` on first use). Before the first step it
  checks the config, that the workdir is writable and not in use by another run, that
  the training split exists, which split validates (`choose_eval_split`: a named one must exist),
  that the datasets have what the training needs, and that a checkpoint
  to resume from (or `config.init_from`) fits the config. `overrides`: the config keys the
  command line gave, which `init_from` leaves as they are (`ifan_jax.training.init_from`).
  Returns the final validation metrics, or None if SIGTERM stopped the run early (after
  saving a checkpoint).
  """
  check_config(config)
  workdir = absolute(workdir)
  _prepare_workdir(workdir)
  with _workdir_lock(workdir), TrainingCheckpoints(workdir, keep=config.keep_checkpoints) as checkpoints:
    latest_meta = checkpoints.latest_meta() if config.init_from else None
    config, source = init_from.resolve(config, latest_meta, overrides)
    run = _Run(config, workdir, datasets or _default_datasets(), checkpoints, source)
    try:
      finished = run.train()
    finally:
      run.close()
    if not finished:
      logging.warning("Stopped by SIGTERM after step %d; the checkpoint there resumes the run.", run.step)
      return None
    return run.finish()


class _Run:
  """One start of a training run: its state, data stream, checkpoints and logs."""

  def __init__(self, config, workdir, datasets, checkpoints: TrainingCheckpoints, source=None):
    """`source`: the model to start from when there is no checkpoint to resume (`init_from.resolve`)."""
    self.config, self.workdir, self.datasets, self.checkpoints = config, workdir, datasets, checkpoints
    self.is_chief = jax.process_index() == 0
    self.model_config = step_lib.model_config(config)
    self.eval_split = choose_eval_split(config, datasets)
    if self.eval_split is not None:
      _check_eval_split(config, self.eval_split, datasets)
    self.train_iter = datasets.train_iterator(
      dataset=config.dataset,
      data_dir=config.data_dir,
      split=config.train_split,
      crop_size=config.crop_size,
      batch_size=config.batch_size,
      seed=config.seed,
      num_workers=config.num_workers,
      in_memory=config.in_memory,
      augment=config.augment,
      views_for=step_lib.views_needed_by(config),
    )
    tx = optim.make_optimizer(config)
    state = self._initial_state(tx, source)
    best_meta = checkpoints.best_meta()
    self.best_psnr = best_meta["eval"]["psnr"] if best_meta else -math.inf
    self.step = int(state.step)
    self.replicated = step_lib.replicate(state)
    self.parallel_step = step_lib.make_parallel_train_step(config, tx, optim.learning_rate_schedule(config))
    self.eval_metrics = None
    # Every check has passed: only now does the workdir change.
    if self.is_chief:
      (workdir / TRAIN_CONFIG_FILE).write_text(config.to_json_best_effort(indent=2))
    self.writer = summaries.MetricWriter(workdir, enabled=self.is_chief, resumed_at=self.step)

  def _initial_state(self, tx, source) -> step_lib.TrainState:
    """The workdir's latest checkpoint (and the pipeline's position there); else a fresh state, whose
    network starts from `source` if given (with a fresh optimiser)."""
    config = self.config
    state = jax.device_get(step_lib.init_state(config, tx, jax.random.PRNGKey(config.seed)))
    restored = self.checkpoints.restore_latest(
      _saved_arrays(state), check_meta=functools.partial(_check_same_model, self.model_config)
    )
    if restored is not None:
      logging.info("Resuming from the checkpoint at step %d.", restored.step)
      self.train_iter.set_state(restored.pipeline_state)
      return step_lib.TrainState(step=np.int32(restored.step), **restored.arrays)
    if source is None:
      return state
    logging.info("Starting from the parameters of %s (the optimiser starts fresh).", source.path)
    params = init_from.initial_params(state.params, source, use_reblur_loss=config.use_reblur_loss)
    return jax.device_get(step_lib.fresh_state(config, tx, params))

  def train(self) -> bool:
    """Steps to `total_steps`; False if SIGTERM stopped it first (after saving a checkpoint)."""
    config = self.config
    buffered, interval_start = [], (self.step, time.perf_counter())
    with (
      StopOnSigterm(sync_every=config.log_every_steps) as stop,
      tqdm(
        total=config.total_steps,
        initial=self.step,
        disable=not self.is_chief,
        desc="train",
        unit="step",
        dynamic_ncols=True,
      ) as bar,
    ):
      while self.step < config.total_steps:
        self.replicated, metrics = self.parallel_step(self.replicated, next(self.train_iter))
        self.step += 1
        buffered.append(metrics)
        bar.update()
        preempted = stop.requested(self.step)
        last = self.step == config.total_steps
        evaluate = (self.step % config.eval_every_steps == 0 or last) and not preempted and self.eval_split is not None
        save = self.step % config.checkpoint_every_steps == 0 or last or preempted
        if self.step % config.log_every_steps == 0 or evaluate or save:
          # Before any validation or save: a non-finite step stops the run here.
          summary = self._log_train_metrics(buffered, interval_start)
          bar.set_postfix(loss=f"{summary['loss/total']:.4g}")
          self._validate_and_save(evaluate, save)
          buffered, interval_start = [], (self.step, time.perf_counter())
        if preempted:
          return False
    return True

  def _log_train_metrics(self, buffered, interval_start):
    summary = _summarise(buffered, self.step, self.checkpoints.latest_step())
    steps_per_sec = (self.step - interval_start[0]) / (time.perf_counter() - interval_start[1])
    summary["train/steps_per_sec"] = steps_per_sec
    summary["train/examples_per_sec"] = steps_per_sec * self.config.batch_size
    self.writer.scalars(self.step, summary)
    return summary

  def _validate_and_save(self, evaluate: bool, save: bool):
    """Saves before validating (a failing validation then costs no work), then saves a new best."""
    if evaluate or save:
      host_state = step_lib.unreplicate(self.replicated)
      _check_finite_parameters(host_state, self.step, self.checkpoints.latest_step())
      if save:
        self._save(host_state, None, is_best=False)
      if evaluate:
        eval_metrics, images = self._validate_during_training(host_state.inference_params)
        self.writer.scalars(
          self.step, {f"eval/{name}": value for name, value in eval_metrics.items() if not isinstance(value, str)}
        )
        self.writer.images(self.step, images)
        if eval_metrics["psnr"] > self.best_psnr:
          self.best_psnr = eval_metrics["psnr"]
          self._save(host_state, eval_metrics, is_best=True)
        self.eval_metrics = eval_metrics
    self.writer.flush()

  def _save(self, host_state, eval_metrics, *, is_best: bool):
    self.checkpoints.save(
      self.step,
      _saved_arrays(host_state),
      self.train_iter.get_state(),
      {"model": self.model_config.to_dict(), "eval": eval_metrics},
      is_best=is_best,
    )

  def _validate_during_training(self, params):
    try:
      return self._validate(params)
    except Exception as error:
      latest = self.checkpoints.latest_step()
      kept = (
        "no checkpoint was saved yet"
        if latest is None
        else (f"the latest checkpoint (step {latest}) is kept and resumes the run")
      )
      error.add_note(f"Validation at step {self.step} failed; {kept}.")
      raise

  def _validate(self, params):
    config = self.config
    images = self.datasets.eval_iterator(
      dataset=eval_dataset(config), data_dir=config.data_dir, split=self.eval_split, limit=config.eval_limit
    )
    return validation.validate(
      params["network"], images, self.model_config, num_image_summaries=config.num_image_summaries
    )

  def finish(self) -> dict:
    """Writes `final_metrics.json` (validating first if this start trained no step) and prints the PSNRs.

    Its `validation_split` names the split validated on, or is None when the dataset had none to
    validate on: then it holds only the step.
    """
    if self.eval_split is None:
      final = {"step": self.step, "validation_split": None}
      message = f"Trained {self.step} steps without validation: {eval_dataset(self.config)!r} has no split for it."
    else:
      final = self._final_validation()
      message = (
        f"Validation PSNR after {self.step} steps ({final['num_images']} images of {eval_dataset(self.config)} "
        f"{self.eval_split}): blurred input {final['input_psnr']:.2f} dB, model "
        f"{final['model_psnr']:.2f} dB ({final['gain']:+.2f} dB); worst image {final['worst_image']} "
        f"({final['worst_gain']:+.2f} dB)."
      )
    if self.is_chief:
      (self.workdir / FINAL_METRICS_FILE).write_text(strict_json.dumps(final, indent=2))
      print(message)
    return final

  def _final_validation(self) -> dict:
    if self.eval_metrics is None:  # The workdir already held a finished run.
      self.eval_metrics, _ = self._validate(step_lib.unreplicate(self.replicated).inference_params)
    metrics = self.eval_metrics
    return {
      "step": self.step,
      "validation_split": self.eval_split,
      "input_psnr": metrics["input_psnr"],
      "model_psnr": metrics["psnr"],
      "gain": metrics["psnr"] - metrics["input_psnr"],
      "best_psnr": max(self.best_psnr, metrics["psnr"]),
      **{k: v for k, v in metrics.items() if k not in ("psnr", "input_psnr")},
    }

  def close(self):
    self.writer.close()
