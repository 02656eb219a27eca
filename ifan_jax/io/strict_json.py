"""JSON that strict parsers read: Python's json writes NaN and Infinity, which JSON has no words for.

A PSNR of an image against itself is infinite and a diverged loss is NaN; both are real results,
so they are kept, as text, under `non_finite`, and their place holds null.
"""

import json
import math


def finite_only(values: dict) -> dict:
  """`values` with each non-finite float, at any depth, replaced by null; `non_finite` maps the
  dotted path of each to what it was (`{"input_mean.psnr": "inf"}`)."""
  replaced = {}

  def walk(value, path):
    if isinstance(value, float) and not math.isfinite(value):
      replaced[path] = repr(float(value))
      return None
    if isinstance(value, dict):
      return {key: walk(item, f"{path}.{key}" if path else str(key)) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
      return [walk(item, f"{path}.{index}") for index, item in enumerate(value)]
    return value

  cleaned = walk(values, "")
  return {**cleaned, "non_finite": replaced} if replaced else values


def dumps(values: dict, **kwargs) -> str:
  """`json.dumps` of `finite_only(values)`; refuses (rather than writes) anything still not JSON."""
  return json.dumps(finite_only(values), allow_nan=False, **kwargs)
