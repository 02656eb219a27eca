"""Training learns: 60 steps on the fake data lower the training loss and raise the validation PSNR.

The other loop tests check what a run writes, not that it improves the model; a sign flipped in a
loss, a detached gradient or a learning rate that stays 0 passes them all, and fails this test.
"""

import json
import subprocess
import sys

import numpy as np

from ifan_jax.training import loop
from tests.conftest import REPO
from tests.training.conftest import tiny_config
from tests.training.fake_data import FakeDatasets, example

STEPS = 60
# Measured on the 2-core CPU (CPU float32; the same on every run, the data being fixed by the seed):
# validation gain +0.40 dB, worst of the 4 images +0.37 dB; the last 10 steps' training loss 0.936 of
# what the identity scores on the same batches. The bars are about half of that.
MIN_GAIN_DB = 0.2
MIN_WORST_GAIN_DB = 0.1
MAX_LOSS_RATIO = 0.97


def _identity_loss(config, step):
  """The deblurring loss of the identity (what a zero-initialised output layer computes) on batch `step`."""
  batch = [example(config.seed, step, i, config.crop_size) for i in range(config.batch_size)]
  return np.mean([np.mean(np.square(e["blurred"] - e["sharp"])) for e in batch])


def test_sixty_steps_lower_the_training_loss_and_raise_the_validation_psnr(tmp_path):
  # The network starts as the identity (zero output layer), so the loss of its starting point on
  # every batch is known without running it, and its starting validation PSNR is the input's.
  config = tiny_config(
    total_steps=STEPS,
    eval_every_steps=STEPS,
    checkpoint_every_steps=STEPS,
    learning_rate=1e-2,
    b2=0.99,  # RAdam's rectification ramps up over ~2 / (1 - b2) steps: 200, not 2000.
    use_reblur_loss=False,
  )
  config.model.zero_init_output = True
  final = loop.train_and_evaluate(config, tmp_path, datasets=FakeDatasets(eval_images=4))

  rows = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
  losses = {row["step"]: row["loss/deblur"] for row in rows if "loss/deblur" in row}
  assert sorted(losses) == list(range(1, STEPS + 1))
  # Step s logs the loss of batch s - 1 before its update: the first is the identity's exactly.
  ratios = np.array([losses[step] / _identity_loss(config, step - 1) for step in sorted(losses)])
  np.testing.assert_allclose(ratios[0], 1.0, rtol=1e-5)
  assert ratios[-10:].mean() < MAX_LOSS_RATIO, ratios.round(4)

  assert final["num_images"] == 4
  assert final["gain"] > MIN_GAIN_DB, final
  assert final["worst_gain"] > MIN_WORST_GAIN_DB, final
  # CI's check of the main job reads the keys this run wrote (its bars are lower than these).
  checked = subprocess.run(
    [sys.executable, str(REPO / ".ci" / "check_main_job.py"), "final_metrics.json"],
    cwd=tmp_path,
    capture_output=True,
    text=True,
    timeout=60,
    check=False,
  )
  assert checked.returncode == 0, checked.stderr
