"""Metrics out of a training run: TensorBoard event files and a JSON-lines file, from process 0 only."""

import json

import numpy as np
from etils import epath
from tensorboardX import SummaryWriter

from ifan_jax.io import strict_json
from ifan_jax.saved_models.run_dir import METRICS_FILE, TENSORBOARD_DIR


def _drop_rows_after(path: epath.Path, step: int):
  """Rewrites `metrics.jsonl` without the rows of steps after `step`: those of a start that stopped
  after its last checkpoint, which the resumed run logs again."""
  if not path.exists():
    return
  lines = path.read_text().splitlines(keepends=True)
  kept = [line for line in lines if line.strip() and json.loads(line)["step"] <= step]
  if len(kept) != len(lines):
    path.write_text("".join(kept))


class MetricWriter:
  """Writes scalars to TensorBoard and `WORKDIR/metrics.jsonl` (one JSON object per line), and images.

  Scalar names carry their group, e.g. `loss/total`, `eval/psnr`. On any process but
  the first every call does nothing, so callers need not check. A run resumed at step `resumed_at`
  first drops what an earlier start logged after that step, so that no step is logged twice.
  """

  def __init__(self, workdir, *, enabled: bool, resumed_at: int = 0):
    self.enabled = enabled
    if not enabled:
      return
    workdir = epath.Path(workdir)
    _drop_rows_after(workdir / METRICS_FILE, resumed_at)
    # TensorBoard hides the events at and after purge_step that an earlier start wrote.
    self._tensorboard = SummaryWriter(str(workdir / TENSORBOARD_DIR), purge_step=resumed_at + 1 if resumed_at else None)
    self._jsonl = (workdir / METRICS_FILE).open("a")

  def scalars(self, step: int, values: dict[str, float]):
    if not self.enabled:
      return
    for name, value in values.items():
      self._tensorboard.add_scalar(name, value, step)
    row = {"step": step, **{k: float(v) for k, v in values.items()}}
    self._jsonl.write(strict_json.dumps(row) + "\n")
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
