"""Where two parameter trees disagree, by path: for the errors of resuming and of `config.init_from`."""

import jax
import numpy as np


def shapes(tree) -> dict[str, list[int]]:
  """`"network/…/kernel" -> shape` of every array (lists, as a checkpoint's JSON metadata stores them)."""
  return {
    jax.tree_util.keystr(path, simple=True, separator="/"): list(np.shape(leaf))
    for path, leaf in jax.tree_util.tree_leaves_with_path(tree)
  }


def differences(theirs: dict, ours: dict) -> tuple[list[str], list[str], list[str]]:
  """The paths only in `theirs`, only in `ours`, and in both with other shapes; each sorted."""
  reshaped = [k for k in sorted(set(ours) & set(theirs)) if ours[k] != theirs[k]]
  return sorted(set(theirs) - set(ours)), sorted(set(ours) - set(theirs)), reshaped


def listed(names: list[str], limit: int) -> str:
  """The first `limit` names, and how many more there are."""
  return ", ".join(names[:limit]) + (f" and {len(names) - limit} more" if len(names) > limit else "")
