"""The guard on each logged step (docs/training.md: a loss or gradient norm that turns NaN or infinite stops the
run before the next save): an infinite gradient norm under a finite loss stops it too, naming the step."""

import math

import numpy as np
import pytest

from ifan_jax.training import loop


def _steps(*grad_norms):
  """Logged metrics of consecutive steps: a finite loss, and these gradient norms."""
  return [{"loss/total": np.float32(0.01), "train/grad_norm": np.float32(norm)} for norm in grad_norms]


def test_an_infinite_gradient_norm_with_a_finite_loss_stops_at_its_step():
  with pytest.raises(FloatingPointError, match=r"^train/grad_norm is inf at step 12: stopping\. .*\(step 10\)"):
    loop._summarise(_steps(0.5, 0.4, math.inf, 0.3), last_step=13, latest_checkpoint=10)
  with pytest.raises(FloatingPointError, match=r"^train/grad_norm is -inf at step 10"):
    loop._summarise(_steps(-math.inf), last_step=10, latest_checkpoint=8)


def test_finite_steps_are_averaged():
  means = loop._summarise(_steps(0.5, 0.3), last_step=2, latest_checkpoint=None)
  assert means["train/grad_norm"] == pytest.approx(0.4) and means["loss/total"] == pytest.approx(0.01)


def test_a_stop_before_any_checkpoint_says_there_is_none():
  with pytest.raises(FloatingPointError) as stopped:
    loop._summarise(_steps(math.nan), last_step=3, latest_checkpoint=None)
  assert str(stopped.value) == ("train/grad_norm is nan at step 3: stopping. No checkpoint was saved before it.")
