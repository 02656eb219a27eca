"""What a `pairs/NAME` dataset was built from: its folder and the image files there, by name, size and time.

TFDS builds a dataset once and then only reads it, so building `pairs/NAME` again from a folder that
has changed (a pair added, another folder under the same NAME) would keep the old data without a
word. The build records its folder in `built_from.json` beside the dataset's files; a later build
compares and refuses when they differ, until `--overwrite` rebuilds.
"""

import json
import os

from etils import epath

from ifan_jax.io import images

RECORD_FILE = "built_from.json"
_LISTED = 3  # changed files named in an error; the rest are counted


def describe(manual_dir) -> dict:
  """The folder (absolute) and each image file under it: relative path -> [size in bytes, mtime in ns]."""
  root = os.path.abspath(manual_dir)
  files = {}
  for folder, subfolders, names in os.walk(root):
    subfolders[:] = sorted(s for s in subfolders if not s.startswith("."))
    for name in sorted(names):
      if not name.startswith(".") and os.path.splitext(name)[1].lower() in images.IMAGE_SUFFIXES:
        stat = os.stat(os.path.join(folder, name))
        files[os.path.relpath(os.path.join(folder, name), root)] = [stat.st_size, stat.st_mtime_ns]
  return {"folder": root, "files": files}


def record(version_dir: epath.Path, description: dict):
  (version_dir / RECORD_FILE).write_text(json.dumps(description, indent=1))


def recorded(version_dir: epath.Path) -> dict | None:
  path = version_dir / RECORD_FILE
  return json.loads(path.read_text()) if path.exists() else None


def _listed(names) -> str:
  names = sorted(names)
  more = f" and {len(names) - _LISTED} more" if len(names) > _LISTED else ""
  return ", ".join(names[:_LISTED]) + more


def differences(before: dict, now: dict) -> list[str]:
  """What changed in the files between two descriptions, in words (empty when nothing did).

  The folders' paths are not compared: the same files moved elsewhere are the same data.
  """
  changes = []
  old, new = before["files"], now["files"]
  for what, names in (
    ("added", new.keys() - old.keys()),
    ("removed", old.keys() - new.keys()),
    ("changed", {n for n in old.keys() & new.keys() if old[n] != new[n]}),
  ):
    if names:
      changes.append(f"{len(names)} file{'s' if len(names) > 1 else ''} {what} ({_listed(names)})")
  return changes
