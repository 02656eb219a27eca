"""Tests that need root's tools skip, saying why, where the machine cannot give them (tests/conftest.py)."""

import os

import pytest

from tests.conftest import immutable, require_chattr


def _path_with(tmp_path, name, script):
  """PATH holding only a folder with `name`, a shell script (none when `script` is None)."""
  folder = tmp_path / "bin"
  folder.mkdir()
  if script is not None:
    (folder / name).write_text(f"#!/bin/sh\n{script}\n")
    (folder / name).chmod(0o755)
  return str(folder)


def test_no_chattr_skips_naming_it(tmp_path, monkeypatch):
  monkeypatch.setenv("PATH", _path_with(tmp_path, "chattr", None))
  with pytest.raises(pytest.skip.Exception, match=r"^no chattr command \(e2fsprogs\)"):
    require_chattr(tmp_path)
  assert os.listdir(tmp_path) == ["bin"]  # the probe folder is gone


def test_a_chattr_that_fails_skips_with_its_message(tmp_path, monkeypatch):
  script = "echo 'chattr: Operation not permitted while setting flags on' \"$2\" >&2; exit 1"
  monkeypatch.setenv("PATH", _path_with(tmp_path, "chattr", script))
  folder = tmp_path / "data"
  folder.mkdir()
  with pytest.raises(pytest.skip.Exception) as skipped, immutable(folder):
    pytest.fail("the block ran")
  assert str(skipped.value).startswith(f"chattr +i fails in {tmp_path} (it needs root")
  probe = tmp_path / ".chattr_probe"
  assert str(skipped.value).endswith(f"Operation not permitted while setting flags on {probe}")
  assert sorted(os.listdir(tmp_path)) == ["bin", "data"]
