"""The training loop: data, parallel steps, logging, validation, checkpoints, resume and preemption."""

import json
import math
import time

import jax
import numpy as np
from absl import logging
from etils import epath
from tqdm import tqdm

from ifan_jax.models.ifan import SIZE_MULTIPLE
from ifan_jax.training import optim, step as step_lib, validation
from ifan_jax.training.checkpoints import TrainingCheckpoints
from ifan_jax.training.preemption import StopOnSigterm
from ifan_jax.training.summaries import MetricWriter

FINAL_METRICS_FILE = "final_metrics.json"
CONFIG_FILE = "train_config.json"
# A step whose loss or gradient norm is not finite stops the run.
GUARDED_METRICS = ("loss/total", "train/grad_norm")


def check_config(config):
  """Raises a ValueError naming the field when the config cannot run on the devices at hand."""
  if config.crop_size % SIZE_MULTIPLE:
    raise ValueError(f"config.crop_size={config.crop_size} must be a multiple of {SIZE_MULTIPLE}.")
  if config.batch_size % jax.device_count():
    raise ValueError(f"config.batch_size={config.batch_size} (global) must be divisible by the "
                     f"{jax.device_count()} devices.")
  for name in ("total_steps", "log_every_steps", "eval_every_steps", "checkpoint_every_steps",
               "keep_checkpoints"):
    if config[name] <= 0:
      raise ValueError(f"config.{name} must be positive, got {config[name]}.")
  if config.model.dual_pixel and not config.use_disparity_loss:
    logging.info("Training the dual-pixel model without the disparity loss.")


def _host_copy(replicated):
  """One replica of a pmapped pytree as numpy (never a cross-device gather)."""
  return jax.tree.map(lambda x: np.asarray(x.addressable_shards[0].data)[0], replicated)


def _summarise(buffered, last_step: int, latest_checkpoint) -> dict[str, float]:
  """Means of the buffered per-step metrics; raises FloatingPointError at the first non-finite step."""
  host = jax.device_get(buffered)
  first_step = last_step - len(host) + 1
  for offset, metrics in enumerate(host):
    for name in GUARDED_METRICS:
      value = float(metrics[name][0])
      if not math.isfinite(value):
        raise FloatingPointError(
            f"{name} is {value} at step {first_step + offset}: stopping. The last checkpoint "
            f"(step {latest_checkpoint}) was written before it and is kept.")
  return {name: float(np.mean([m[name][0] for m in host])) for name in host[0]}


def _default_datasets():
  from ifan_jax.data import pipeline  # pylint: disable=import-outside-toplevel
  return pipeline


def train_and_evaluate(config, workdir, *, datasets=None) -> dict | None:
  """Trains IFAN as `config` says, in `workdir` (resuming from its latest checkpoint if any).

  `datasets` provides `train_iterator` and `eval_iterator` as `ifan_jax.data.pipeline`
  does (the default; it builds `synthetic_dp` on first use). Returns the final validation metrics,
  or None if SIGTERM stopped the run early (after saving a checkpoint).
  """
  datasets = datasets or _default_datasets()
  check_config(config)
  workdir = epath.Path(workdir)
  workdir.mkdir(parents=True, exist_ok=True)
  is_chief = jax.process_index() == 0
  if is_chief:
    (workdir / CONFIG_FILE).write_text(config.to_json_best_effort(indent=2))
  model_config = step_lib.model_config(config)

  tx = optim.make_optimizer(config)
  learning_rate = optim.learning_rate_schedule(config)
  state = jax.device_get(step_lib.init_state(config, tx, jax.random.PRNGKey(config.seed)))
  train_iter = datasets.train_iterator(
      dataset=config.dataset, data_dir=config.data_dir, split=config.train_split,
      crop_size=config.crop_size, batch_size=config.batch_size, seed=config.seed,
      num_workers=config.num_workers, in_memory=config.in_memory, augment=config.augment)

  checkpoints = TrainingCheckpoints(workdir, keep=config.keep_checkpoints)
  restored = checkpoints.restore_latest(state.params, state.opt_state)
  if restored is not None:
    logging.info("Resuming from the checkpoint at step %d.", restored.step)
    state = step_lib.TrainState(step=np.int32(restored.step), params=restored.params,
                                opt_state=restored.opt_state)
    train_iter.set_state(restored.pipeline_state)
  best_meta = checkpoints.best_meta()
  best_psnr = best_meta["eval"]["psnr"] if best_meta else -math.inf

  writer = MetricWriter(workdir, enabled=is_chief)
  replicated = step_lib.replicate(state)
  parallel_step = step_lib.make_parallel_train_step(config, tx, learning_rate)
  step = int(state.step)
  buffered, interval_start, eval_metrics, preempted = [], (step, time.perf_counter()), None, False
  try:
    with StopOnSigterm() as stop, tqdm(total=config.total_steps, initial=step, disable=not is_chief,
                                       desc="train", unit="step", dynamic_ncols=True) as bar:
      while step < config.total_steps:
        batch = next(train_iter)
        replicated, metrics = parallel_step(replicated, batch)
        step += 1
        buffered.append(metrics)
        bar.update()
        preempted = stop.requested()
        last = step == config.total_steps
        evaluate = (step % config.eval_every_steps == 0 or last) and not preempted
        save = step % config.checkpoint_every_steps == 0 or last or preempted
        if not (step % config.log_every_steps == 0 or evaluate or save):
          continue

        summary = _summarise(buffered, step, checkpoints.latest_step())
        elapsed = time.perf_counter() - interval_start[1]
        summary["train/steps_per_sec"] = (step - interval_start[0]) / elapsed
        summary["train/examples_per_sec"] = summary["train/steps_per_sec"] * config.batch_size
        writer.scalars(step, summary)
        bar.set_postfix(loss=f"{summary['loss/total']:.4g}")
        buffered = []

        host_state = None
        is_best = False
        if evaluate:
          host_state = _host_copy(replicated)
          eval_metrics, images = _run_validation(config, datasets, host_state.params, model_config)
          writer.scalars(step, {f"eval/{name}": value for name, value in eval_metrics.items()})
          writer.images(step, images)
          is_best = eval_metrics["psnr"] > best_psnr
          best_psnr = max(best_psnr, eval_metrics["psnr"])
          save = save or is_best
        if save:
          if host_state is None:
            host_state = _host_copy(replicated)
          checkpoints.save(step, host_state.params, host_state.opt_state, train_iter.get_state(),
                           {"model": model_config.to_dict(), "eval": eval_metrics}, is_best=is_best)
        writer.flush()
        interval_start = (step, time.perf_counter())
        if preempted:
          break
  finally:
    checkpoints.wait()
    checkpoints.close()
    writer.close()

  if preempted:
    logging.warning("Stopped by SIGTERM after step %d; the checkpoint there resumes the run.", step)
    return None
  if eval_metrics is None:  # The workdir already held a finished run.
    eval_metrics, _ = _run_validation(config, datasets, _host_copy(replicated).params, model_config)
  return _write_final_metrics(workdir, eval_metrics, step, best_psnr, is_chief)


def _run_validation(config, datasets, params, model_config):
  images = datasets.eval_iterator(dataset=config.dataset, data_dir=config.data_dir,
                                  split=config.eval_split, limit=config.eval_limit)
  return validation.validate(params["network"], images, model_config,
                             num_image_summaries=config.num_image_summaries)


def _write_final_metrics(workdir, eval_metrics, step, best_psnr, is_chief):
  final = {"step": step, "input_psnr": eval_metrics["input_psnr"], "model_psnr": eval_metrics["psnr"],
           "best_psnr": best_psnr, **{k: v for k, v in eval_metrics.items() if k not in ("psnr", "input_psnr")}}
  if is_chief:
    (workdir / FINAL_METRICS_FILE).write_text(json.dumps(final, indent=2))
    print(f"Validation PSNR after {step} steps: blurred input {final['input_psnr']:.2f} dB, "
          f"model {final['model_psnr']:.2f} dB ({final['model_psnr'] - final['input_psnr']:+.2f} dB).")
  return final
