"""Paths as they enter the library: local ones made absolute once, URLs (`gs://...`) kept as they are.

orbax refuses relative checkpoint paths, and readers that open their files later (array_record,
a training run's saves) would resolve a relative path against whatever the working directory is
by then; so every public entry point resolves its paths here, once.
"""

import os

from etils import epath


def is_local(path) -> bool:
  """False for URLs such as `gs://bucket/x`, which have no working directory and no file locks."""
  return "://" not in os.fspath(path)


def absolute(path) -> epath.Path:
  """`path` with `~` expanded and made absolute if local; a URL as it is."""
  if not is_local(path):
    return epath.Path(path)
  return epath.Path(os.path.abspath(os.path.expanduser(os.fspath(path))))


def absolute_str(path) -> str | None:
  """`absolute(path)` as a string for readers that take one (TFDS's data_dir); None when unset."""
  return os.fspath(absolute(path)) if path else None
