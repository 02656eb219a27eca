"""The paper's evaluation protocol over an `EvalSource`, with per-image scores, outputs and figures.

Per image: inference on the image cropped to a multiple of 8, the float output compared
with the float ground truth (PSNR, SSIM, MAE, LPIPS from `ifan_jax.evaluation.metrics`); then the
mean over images. Time per image excludes compilation: each new image shape is run once
untimed first.
"""

import csv
import dataclasses
import json
import os
import time

import jax
import numpy as np
from absl import logging
from tqdm import tqdm

from ifan_jax.evaluation import figures, metrics
from ifan_jax.evaluation.sources import EvalSource
from ifan_jax.io import images

METRICS = ("psnr", "ssim", "mae", "lpips")
_DIGITS = dict(psnr=2, ssim=3, mae=4, lpips=3)


@dataclasses.dataclass
class ImageScore:
  name: str
  seconds: float
  psnr: float | None = None
  ssim: float | None = None
  mae: float | None = None
  lpips: float | None = None


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
    # On the device once each, not once per metric.
    result, sharp = jax.numpy.asarray(out["result"]), jax.numpy.asarray(example["sharp"][0])
    score.psnr, score.ssim, score.mae = (float(m(result, sharp)) for m in (metrics.psnr, metrics.ssim, metrics.mae))
    score.lpips = float(lpips(result, sharp))
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
  for folder in ("outputs", "figures"):
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
      json.dump(summary, f, indent=2)
  return scores, summary


def summarize(scores, source: EvalSource, *, failed, complete):
  """Means over images (None without ground truth), the device, the paper's figures if any, and
  the images that failed."""
  scored = [s for s in scores if s.psnr is not None]
  device = jax.devices()[0]
  kind = device.device_kind if device.device_kind.lower() != device.platform else ""
  return {
    "dataset": source.name,
    "images": len(scores),
    "with_ground_truth": len(scored),
    "mean": {m: float(np.mean([getattr(s, m) for s in scored])) if scored else None for m in METRICS},
    "seconds_per_image": float(np.mean([s.seconds for s in scores])) if scores else None,
    "device": f"{device.platform} {kind}".strip(),
    "paper": source.paper if source.split == "test" else None,
    "failed": list(failed),
    "complete": complete,
  }


def write_csv(scores, path):
  with open(path, "w", newline="") as f:
    writer = csv.writer(f)
    writer.writerow(["name", *METRICS, "seconds"])
    for s in scores:
      writer.writerow(
        [s.name, *("" if getattr(s, m) is None else f"{getattr(s, m):.6f}" for m in METRICS), f"{s.seconds:.4f}"]
      )


def format_table(summary, label="ifan_jax"):
  """The summary as a Markdown table in the paper's precision, with the paper's row when known."""

  def row(name, values, seconds):
    cells = ["-" if values.get(m) is None else f"{values[m]:.{_DIGITS[m]}f}" for m in METRICS]
    return f"| {name} | {' | '.join(cells)} | {seconds} |"

  seconds = summary["seconds_per_image"]
  lines = [
    f"{summary['dataset']}: {summary['images']} images ({summary['with_ground_truth']} with ground "
    f"truth) on {summary['device']}",
    "| Model | PSNR ↑ | SSIM ↑ | MAE ↓ | LPIPS ↓ | s/image |",
    "|---|---|---|---|---|---|",
    row(label, summary["mean"], "-" if seconds is None else f"{seconds:.3f}"),
  ]
  if summary["paper"]:
    lines.append(row("IFAN (paper)", summary["paper"], "-"))
  return "\n".join(lines)
