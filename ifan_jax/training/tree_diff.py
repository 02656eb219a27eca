"""Where two parameter trees disagree, by path: for the errors of resuming and of `config.init_from`."""

import jax
import numpy as np


def shapes(tree) -> dict[str, list[int]]:
  """`"network/…/kernel" -> shape` of every array (lists, as a checkpoint's JSON metadata stores them)."""
  return {
    jax.tree_util.keystr(path, simple=True, separator="/"): list(np.shape(leaf))
    for path, leaf in jax.tree_util.tree_leaves_with_path(tree)
  }


# Paths named per kind of difference; the others are counted.
LISTED = 5


def differences(theirs: dict, ours: dict, *, theirs_are: str, ours_are: str) -> list[str]:
  """One phrase per kind of difference between two `shapes` dicts, naming the first `LISTED` paths:
  "only in {theirs_are}: ...", "only in {ours_are}: ...", "of other shapes: path [2, 3] in
  {theirs_are}, [2, 4] in {ours_are}, ..."; empty when they agree."""
  reshaped = [
    f"{k} {theirs[k]} in {theirs_are}, {ours[k]} in {ours_are}"
    for k in sorted(set(ours) & set(theirs))
    if list(ours[k]) != list(theirs[k])
  ]
  kinds = (
    (f"only in {theirs_are}", sorted(set(theirs) - set(ours))),
    (f"only in {ours_are}", sorted(set(ours) - set(theirs))),
    ("of other shapes", reshaped),
  )
  return [f"{what}: {_listed(names)}" for what, names in kinds if names]


def _listed(names: list[str]) -> str:
  more = len(names) - LISTED
  return ", ".join(names[:LISTED]) + (f" and {more} more" if more > 0 else "")
