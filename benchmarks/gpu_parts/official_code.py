"""The official PyTorch code on the same device: inference in float32 and with its AMP, and its trainer's step.

Its own settings: inference as its `eval.py` runs it (`torch.cuda.amp.autocast()` for AMP), the
training step as its `run.py` and trainer run it (`cudnn.benchmark = True`). CUDA work is timed
between `torch.cuda.synchronize()` calls; the inference result is copied to the host like ours.
"""

import functools
import time

from benchmarks import official
from benchmarks.gpu_parts import measure_torch
from ifan_jax import IFANConfig


def _time_inference(network, image, mode, device, repeats):
  import torch  # pylint: disable=import-outside-toplevel

  if mode == "amp" and device == "cpu":
    return dict(kind="skipped", reason="the official AMP is CUDA float16")

  def run():
    with torch.no_grad(), torch.autocast(device, enabled=mode == "amp"):
      return network(image)["result"].float().cpu()

  return measure_torch.timed(run, device, repeats)


def inference(recorder, sizes, options):
  import torch  # pylint: disable=import-outside-toplevel

  device = "cuda" if torch.cuda.is_available() else "cpu"
  recorder.add("device", "official inference", **measure_torch.device_summary(device))
  network = official.network(options["official_repo"], IFANConfig(**sizes.model), device)
  for width, height in sizes.image_sizes:
    image = torch.rand(1, 3, height, width, device=device)
    for mode in ("float32", "amp"):
      recorder.run(
        f"official inference {width}x{height} {mode}",
        functools.partial(_time_inference, network, image, mode, device, sizes.repeats),
        size=f"{width}x{height}",
        mode=mode,
      )


def _time_training_step(options, config, sizes, device, mode):
  if mode == "amp" and device == "cpu":
    return dict(kind="skipped", reason="the official AMP is CUDA float16")
  model_config = IFANConfig(**config.model.to_dict())
  batch, crop = sizes.train_batch, sizes.train_crop
  step = official.training_step(options["official_repo"], config, model_config, batch, crop, device, amp=mode == "amp")
  start = time.perf_counter()
  measure_torch.synchronized(step, device)
  first_s = time.perf_counter() - start
  figures = measure_torch.timed(step, device, sizes.repeats)
  return dict(first_step_s=first_s, ms=figures["ms"], steps_per_s=1e3 / figures["ms"], peak_gib=figures["peak_gib"])


def train(recorder, sizes, options):
  import torch  # pylint: disable=import-outside-toplevel

  from benchmarks.gpu_parts.model import training_config  # pylint: disable=import-outside-toplevel

  device = "cuda" if torch.cuda.is_available() else "cpu"
  recorder.add("device", "official training", **measure_torch.device_summary(device))
  torch.backends.cudnn.benchmark = True
  config = training_config(sizes)
  crop = sizes.train_crop
  for mode in ("float32", "amp"):
    recorder.run(
      f"official training step {sizes.train_batch}x{crop}x{crop} {mode}",
      functools.partial(_time_training_step, options, config, sizes, device, mode),
      who="official",
      dtype=mode,
      batch=sizes.train_batch,
      crop=crop,
    )
