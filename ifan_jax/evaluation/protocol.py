"""The paper's evaluation protocol over an `EvalSource`, with per-image scores, outputs and figures.

Per image: inference on the image cropped to a multiple of 8, the float output compared
with the float ground truth (PSNR, SSIM, MAE, LPIPS from `ifan_jax.evaluation.metrics`), and so is
the blurred input (the paper's "Input" row, which makes the model's row a gain); then the mean over
images. Time per image excludes compilation: each new image shape is run once untimed first.
"""

import csv
import dataclasses
import os
import time

import jax
import numpy as np
from absl import logging
from tqdm import tqdm

from ifan_jax.evaluation import figures, metrics
from ifan_jax.evaluation.sources import EvalSource
from ifan_jax.io import images, strict_json

METRICS = ("psnr", "ssim", "mae", "lpips")
HIGHER_IS_BETTER = frozenset({"psnr", "ssim"})  # MAE and LPIPS are errors: lower is better
_DIGITS = dict(psnr=2, ssim=3, mae=4, lpips=3)


def gain(metric, model, blurred):
  """How much better the model's score is than the blurred input's: positive is better for every
  metric (dB for PSNR; for MAE and LPIPS the reduction of the error)."""
  return model - blurred if metric in HIGHER_IS_BETTER else blurred - model


@dataclasses.dataclass
class ImageScore:
  """One image's scores against its sharp image (None without one): the model's and the blurred input's."""

  name: str
  seconds: float
  psnr: float | None = None
  ssim: float | None = None
  mae: float | None = None
  lpips: float | None = None
  input_psnr: float | None = None
  input_ssim: float | None = None
  input_mae: float | None = None
  input_lpips: float | None = None

  def gain(self, metric):
    """`gain(metric, ...)` of this image, or None without ground truth."""
    model, blurred = getattr(self, metric), getattr(self, f"input_{metric}")
    return None if model is None else gain(metric, model, blurred)


def _rotate(x, k):
  return None if x is None else np.rot90(x, k)


def predict(deblurrer, example, *, rotate=False):
  """Deblurs one example (batch of one); returns `result [H, W, 3]` and `disparity [H/8, W/8]`.

  `rotate`: turn the inputs 90 degrees counter-clockwise first and the outputs back (PixelDP).
  """
  views = {
    k: _rotate(example[k][0], int(rotate)) for k in ("left", "right") if k in example and deblurrer.config.dual_pixel
  }
  out = deblurrer.predict(_rotate(example["blurred"][0], int(rotate)), **views)
  return {k: np.ascontiguousarray(_rotate(v, -int(rotate))) for k, v in out.items()}


def scores_against_sharp(result, blurred, sharp, measures) -> dict[str, float]:
  """`{name: ..., "input_" + name: ...}`: each metric of `measures` (name -> function of two images) of
  the model's `result` and of the `blurred` input against `sharp`, all `[H, W, 3]` in [0, 1].

  Evaluation and validation during training both score through here.
  """
  # On the device once each, not once per metric.
  result, blurred, sharp = map(jax.numpy.asarray, (result, blurred, sharp))
  return {
    f"{prefix}{name}": float(metric(image, sharp))
    for prefix, image in (("", result), ("input_", blurred))
    for name, metric in measures.items()
  }


class _Timer:
  """Times `predict`, running every new input shape once untimed so compilation is excluded."""

  def __init__(self, deblurrer, rotate):
    self._deblurrer, self._rotate, self._seen = deblurrer, rotate, set()

  def __call__(self, example):
    shape = example["blurred"].shape
    if shape not in self._seen:
      predict(self._deblurrer, example, rotate=self._rotate)
      self._seen.add(shape)
    start = time.perf_counter()
    out = predict(self._deblurrer, example, rotate=self._rotate)  # numpy: waits for the device
    return out, time.perf_counter() - start


def _score(timer, lpips, example):
  """Deblurs one example and scores it against its sharp image if it has one.

  A folder's example that could not be loaded carries its error, raised here like any other.
  """
  if "error" in example:
    raise ValueError(example["error"])
  out, seconds = timer(example)
  score = ImageScore(name=example["name"], seconds=seconds)
  if "sharp" in example:
    measures = {"psnr": metrics.psnr, "ssim": metrics.ssim, "mae": metrics.mae, "lpips": lpips}
    height, width = example["sharp"].shape[1:3]
    if not metrics.lpips_can_score(height, width):
      logging.warning(
        "%s: %dx%d is too small for LPIPS (at least %d pixels a side); its LPIPS is left out.",
        *(example["name"], width, height, metrics.LPIPS_MIN_SIDE),
      )
      del measures["lpips"]
    scores = scores_against_sharp(out["result"], example["blurred"][0], example["sharp"][0], measures)
    score = dataclasses.replace(score, **scores)
  return out, score


def _save(out_dir, source, example, out, *, output, figure):
  file_name = os.path.basename(example["name"])
  if output:
    images.write_image(os.path.join(out_dir, "outputs", f"{file_name}.png"), out["result"], bit_depth=source.bit_depth)
  if figure:
    figures.save_comparison(
      os.path.join(out_dir, "figures", f"{file_name}.png"),
      example["blurred"][0],
      out["result"],
      sharp=example["sharp"][0] if "sharp" in example else None,
      disparity=out["disparity"],
      title=f"{source.name}: {example['name']}",
    )


def evaluate(deblurrer, source: EvalSource, out_dir, *, num_figures=3, save_outputs=True):
  """Runs the protocol; writes outputs/, figures/, per_image.csv and summary.json under `out_dir`.

  An image that cannot be read or scored is logged, listed under the summary's `failed`
  and skipped. The CSV and summary are written for what was done even when the run stops
  early (an interrupt, a crash: `complete` is then false). Returns the scores and the summary.
  """
  os.makedirs(out_dir, exist_ok=True)
  for folder, wanted in (("outputs", save_outputs), ("figures", num_figures > 0)):
    if wanted:
      os.makedirs(os.path.join(out_dir, folder), exist_ok=True)
  lpips = metrics.LPIPS()
  timer = _Timer(deblurrer, source.rotate)
  scores, failed, complete = [], [], False
  try:
    for example in tqdm(source.examples(), total=source.count, desc=source.name, unit="image"):
      try:
        out, score = _score(timer, lpips, example)
        _save(out_dir, source, example, out, output=save_outputs, figure=len(scores) < num_figures)
        scores.append(score)
      except (ValueError, OSError) as e:  # Unreadable or mismatched images, unwritable outputs.
        logging.error("%s skipped: %s", example["name"], e)
        failed.append({"name": example["name"], "error": str(e)})
    complete = True
  finally:
    summary = summarize(scores, source, failed=failed, complete=complete)
    write_csv(scores, os.path.join(out_dir, "per_image.csv"))
    with open(os.path.join(out_dir, "summary.json"), "w") as f:
      f.write(strict_json.dumps(summary, indent=2))
  return scores, summary


def summarize(scores, source: EvalSource, *, failed, complete):
  """Means over images of the model's and of the blurred input's scores (None without ground truth;
  LPIPS over the images large enough for it), how many images the model made worse than their input
  (per metric), the device, the paper's figures if any, and the images that failed."""
  scored = [s for s in scores if s.psnr is not None]
  device = jax.devices()[0]
  kind = device.device_kind if device.device_kind.lower() != device.platform else ""

  def mean(values):
    values = [v for v in values if v is not None]
    return float(np.mean(values)) if values else None

  gains = {m: [g for s in scored if (g := s.gain(m)) is not None] for m in METRICS}
  is_test = source.split == "test"
  return {
    "dataset": source.name,
    "images": len(scores),
    "with_ground_truth": len(scored),
    "mean": {m: mean(getattr(s, m) for s in scored) for m in METRICS},
    "input_mean": {m: mean(getattr(s, f"input_{m}") for s in scored) for m in METRICS},
    "mean_gain": {m: mean(gains[m]) for m in METRICS},
    "worse_than_input": {m: sum(g < 0 for g in gains[m]) for m in METRICS},
    "too_small_for_lpips": [s.name for s in scored if s.lpips is None],
    "seconds_per_image": float(np.mean([s.seconds for s in scores])) if scores else None,
    "device": f"{device.platform} {kind}".strip(),
    "paper": source.paper if is_test else None,
    "paper_input": source.paper_input if is_test else None,
    "failed": list(failed),
    "complete": complete,
  }


CSV_COLUMNS = ("name", *METRICS, *(f"input_{m}" for m in METRICS), *(f"{m}_gain" for m in METRICS), "seconds")


def write_csv(scores, path):
  """One row per image: the model's scores, the blurred input's, the gains (`gain`) and the seconds."""

  def cell(value):
    return "" if value is None else f"{value:.6f}"

  with open(path, "w", newline="") as f:
    writer = csv.writer(f)
    writer.writerow(CSV_COLUMNS)
    for s in scores:
      writer.writerow(
        [
          s.name,
          *(cell(getattr(s, m)) for m in METRICS),
          *(cell(getattr(s, f"input_{m}")) for m in METRICS),
          *(cell(s.gain(m)) for m in METRICS),
          f"{s.seconds:.4f}",
        ]
      )


def format_table(summary, label="ifan_jax"):
  """The summary as a Markdown table in the paper's precision: the blurred input's row above the
  model's, the paper's two rows when known, and how many images the model made worse."""

  def row(name, values, seconds="-"):
    cells = ["-" if values.get(m) is None else f"{values[m]:.{_DIGITS[m]}f}" for m in METRICS]
    return f"| {name} | {' | '.join(cells)} | {seconds} |"

  seconds = summary["seconds_per_image"]
  header = " | ".join(f"{m.upper()} {'↑' if m in HIGHER_IS_BETTER else '↓'}" for m in METRICS)
  lines = [
    f"{summary['dataset']}: {summary['images']} images ({summary['with_ground_truth']} with ground "
    f"truth) on {summary['device']}",
    f"| Model | {header} | s/image |",
    "|---|---|---|---|---|---|",
    row("Input", summary["input_mean"]),
    row(label, summary["mean"], "-" if seconds is None else f"{seconds:.3f}"),
  ]
  if summary["paper_input"]:
    lines.append(row("Input (paper)", summary["paper_input"]))
  if summary["paper"]:
    lines.append(row("IFAN (paper)", summary["paper"]))
  if summary["with_ground_truth"]:
    worse = ", ".join(f"{m.upper()} {n}" for m, n in summary["worse_than_input"].items())
    lines.append(f"Images the model made worse than its input, of {summary['with_ground_truth']}: {worse}")
  if summary.get("too_small_for_lpips"):
    lines.append(
      f"LPIPS leaves out {len(summary['too_small_for_lpips'])} images under {metrics.LPIPS_MIN_SIDE} pixels a "
      "side; its mean is over the others."
    )
  return "\n".join(lines)
