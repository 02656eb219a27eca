"""Our whole model: inference per size, dtype and IAC implementation, and the training step of the reference recipe."""

import functools
import time

import jax
import jax.numpy as jnp
import numpy as np

from benchmarks import costs
from benchmarks.gpu_parts import measure
from benchmarks.timing import median_seconds
from ifan_jax import IFAN
from ifan_jax.training import optim
from ifan_jax.training import step as step_lib
from ifan_jax.training.default_config import default_config
from tests.ops import iac_cases

IMPLS = ("xla", "pallas")
DTYPES = ("float32", "bfloat16")


def training_config(sizes, dtype="float32", impl="auto"):
  """The reference recipe (configs/dpdd.py's optimiser and losses) with the suite's model size and `dtype`."""
  config = default_config()
  config.model.update(sizes.model)
  config.model.dtype, config.model.iac_impl = dtype, impl
  config.batch_size = sizes.train_batch
  return config


def _time_inference(model, params, image, macs, repeats):
  forward = lambda p, x: model.apply({"params": p}, x)["result"]
  if model.config.iac_impl == "pallas" and jax.default_backend() == "cpu":
    return dict(kind="lowered", cuda_hlo_chars=len(iac_cases.lower_for_cuda(forward, params, image)))
  figures = measure.time_jitted(forward, params, image, repeats=repeats, to_host=True)
  return dict(**figures, tflops=2 * macs / (figures["ms_host"] * 1e-3) / 1e12)


def inference(recorder, sizes, options):
  """Seconds per image with the result on the host, the device-only time, XLA's memory plan, TFLOP/s.

  The official weights' IAC (compat); random weights on the device. The Pallas
  implementation needs a GPU: on a CPU its cases are lowered for CUDA instead of timed.
  """
  del options
  recorder.add("device", "inference", **measure.device_summary())
  config = step_lib.model_config(training_config(sizes)).replace(iac_compat=True)
  # Drawn on the host CPU (step_lib.init_params), then put on the device once, as Deblurrer does.
  params = jax.device_put(step_lib.init_params(training_config(sizes), jax.random.key(0))["network"], jax.devices()[0])
  for width, height in sizes.image_sizes:
    image = jax.random.uniform(jax.random.key(1), (1, height, width, 3), jnp.float32)
    macs = costs.count_macs(lambda x: IFAN(config).apply({"params": params}, x)["result"], image)
    for dtype in DTYPES:
      for impl in IMPLS:
        model = IFAN(config.replace(dtype=dtype, iac_impl=impl))
        recorder.run(
          f"IFAN inference {width}x{height} {dtype} {impl}",
          functools.partial(_time_inference, model, params, image, macs, sizes.repeats),
          size=f"{width}x{height}",
          dtype=dtype,
          impl=impl,
          gmacs=macs / 1e9,
        )


def _time_training_step(config, sizes):
  tx = optim.make_optimizer(config)
  state = step_lib.replicate(jax.device_get(step_lib.init_state(config, tx, jax.random.PRNGKey(0))))
  parallel_step = step_lib.make_parallel_train_step(config, tx, optim.learning_rate_schedule(config))
  rng = np.random.default_rng(0)
  shape = (sizes.train_batch, sizes.train_crop, sizes.train_crop, 3)
  batch = {k: jax.device_put(rng.random(shape, np.float32)) for k in ("blurred", "left", "right", "sharp")}
  start = time.perf_counter()
  planned_gib = measure.planned_peak_gib(parallel_step.lower(state, batch).compile())
  compile_s = time.perf_counter() - start
  holder = {"state": state}

  def step():
    holder["state"], metrics = parallel_step(holder["state"], batch)
    jax.block_until_ready(metrics)

  start = time.perf_counter()
  step()
  first_s = time.perf_counter() - start
  seconds = median_seconds(step, sizes.repeats)
  # The process's peak also holds what compilation took (autotuning scratch); the plan is the step's own.
  peak = measure.process_peak_gib()
  return dict(
    compile_s=compile_s,
    first_step_s=first_s,
    ms=seconds * 1e3,
    steps_per_s=1 / seconds,
    planned_gib=planned_gib,
    peak_gib=peak,
  )


def train(dtype, impl):
  """The part that times our training step in `dtype` with the `impl` IAC; one process each, so the peak is its own."""

  def run(recorder, sizes, options):
    del options
    recorder.add("device", f"train {dtype} {impl}", **measure.device_summary())
    config = training_config(sizes, dtype, impl)
    if impl == "pallas" and jax.default_backend() == "cpu":
      recorder.add("skipped", f"training step {dtype} pallas", reason="the compiled Pallas kernel needs a GPU")
      return
    crop = sizes.train_crop
    recorder.run(
      f"training step {sizes.train_batch}x{crop}x{crop} {dtype} {impl}",
      functools.partial(_time_training_step, config, sizes),
      who="ifan_jax",
      dtype=dtype,
      impl=impl,
      batch=sizes.train_batch,
      crop=crop,
    )

  return run


train_float32 = train("float32", "xla")
train_bfloat16 = train("bfloat16", "xla")
train_float32_pallas = train("float32", "pallas")
train_bfloat16_pallas = train("bfloat16", "pallas")
