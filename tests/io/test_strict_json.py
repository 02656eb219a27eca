"""`strict_json`: what training and eval write parses under JSON's own rules, and no value is lost."""

import json
import math

import numpy as np
import pytest

from ifan_jax.io import strict_json
from tests.conftest import strict_json_loads


def test_flat_values_become_null_with_what_they_were():
  row = {"step": 3, "psnr": math.nan, "worst_gain": -math.inf, "ssim": 0.5}
  assert strict_json_loads(strict_json.dumps(row)) == {
    "step": 3,
    "psnr": None,
    "worst_gain": None,
    "ssim": 0.5,
    "non_finite": {"psnr": "nan", "worst_gain": "-inf"},
  }


def test_nested_values_are_named_by_their_dotted_path():
  summary = {
    "input_mean": {"psnr": np.float64(np.inf), "ssim": 1.0},
    "mean_gain": {"psnr": -math.inf},
    "failed": [{"name": "a", "score": math.nan}],
    "complete": True,
  }
  assert strict_json_loads(strict_json.dumps(summary, indent=2)) == {
    "input_mean": {"psnr": None, "ssim": 1.0},
    "mean_gain": {"psnr": None},
    "failed": [{"name": "a", "score": None}],
    "complete": True,
    "non_finite": {"input_mean.psnr": "inf", "mean_gain.psnr": "-inf", "failed.0.score": "nan"},
  }


def test_finite_values_are_written_as_json_writes_them():
  values = {"psnr": 29.93, "nested": {"n": [1, 2.5]}, "name": "x"}
  assert strict_json.finite_only(values) is values
  assert strict_json.dumps(values) == json.dumps(values)


def test_what_json_cannot_hold_at_all_is_refused():
  with pytest.raises(TypeError, match="not JSON serializable"):
    strict_json.dumps({"when": object()})
