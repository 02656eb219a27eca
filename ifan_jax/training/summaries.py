"""Metrics out of a training run: TensorBoard event files and a JSON-lines file, from process 0 only."""

import json

import numpy as np
from etils import epath
from tensorboardX import SummaryWriter

METRICS_FILE = "metrics.jsonl"
TENSORBOARD_DIR = "tensorboard"


class MetricWriter:
  """Writes scalars to TensorBoard and `WORKDIR/metrics.jsonl` (one JSON object per line), and images.

  Scalar names carry their group, e.g. `loss/total`, `eval/psnr`. On any process but
  the first every call does nothing, so callers need not check.
  """

  def __init__(self, workdir, *, enabled: bool):
    self.enabled = enabled
    if not enabled:
      return
    workdir = epath.Path(workdir)
    self._tensorboard = SummaryWriter(str(workdir / TENSORBOARD_DIR))
    self._jsonl = (workdir / METRICS_FILE).open("a")

  def scalars(self, step: int, values: dict[str, float]):
    if not self.enabled:
      return
    for name, value in values.items():
      self._tensorboard.add_scalar(name, value, step)
    self._jsonl.write(json.dumps({"step": step, **{k: float(v) for k, v in values.items()}}) + "\n")
    self._jsonl.flush()

  def images(self, step: int, images: dict[str, np.ndarray]):
    """`images`: name -> `[H, W, C]` float array in [0, 1] (C = 1 or 3)."""
    if not self.enabled:
      return
    for name, image in images.items():
      self._tensorboard.add_image(name, np.clip(image, 0, 1), step, dataformats="HWC")

  def flush(self):
    if self.enabled:
      self._tensorboard.flush()

  def close(self):
    if self.enabled:
      self._tensorboard.close()
      self._jsonl.close()
