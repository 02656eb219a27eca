"""ifan_jax.io.locks: a second holder is refused at once or waits; a killed holder's lock is taken over."""

import logging
import os
import signal
import subprocess
import sys

import pytest

from ifan_jax.io import locks

# Holds the lock until the file argv[2] exists (or 600 s pass: that only bounds a test that died).
_HOLD = """
import os, sys, time
from ifan_jax.io import locks
with locks.exclusive(sys.argv[1], what="the test resource"):
  print("held", flush=True)
  deadline = time.monotonic() + 600
  while not os.path.exists(sys.argv[2]) and time.monotonic() < deadline:
    time.sleep(0.01)
print("released", flush=True)
"""


def _holder(path, release):
  """A process that holds the lock `path` until the file `release` is created."""
  proc = subprocess.Popen([sys.executable, "-c", _HOLD, str(path), str(release)], stdout=subprocess.PIPE, text=True)
  assert proc.stdout.readline().strip() == "held"
  return proc


class _ReleaseWhenWaiting(logging.Handler):
  """Creates the file `release` when the lock logs that it waits: the holder lets go only then."""

  def __init__(self, release):
    super().__init__()
    self.release_file = release

  def emit(self, record):
    if record.getMessage().startswith("Waiting for the test resource"):
      self.release_file.touch()


def test_a_live_holder_is_named_and_refused_at_once(tmp_path):
  holder = _holder(tmp_path / "lock", tmp_path / "release")
  try:
    held = rf"the test resource is in use by process {holder.pid} on "
    with pytest.raises(locks.LockHeld, match=held), locks.exclusive(tmp_path / "lock", what="the test resource"):
      pass
    assert holder.poll() is None  # Refused while the holder still holds it: no wait for it.
  finally:
    holder.kill()
    holder.wait()


def test_a_waiter_gets_the_lock_when_the_holder_finishes(tmp_path, caplog):
  holder = _holder(tmp_path / "lock", tmp_path / "release")
  caplog.set_level("INFO")
  handler = _ReleaseWhenWaiting(tmp_path / "release")
  logging.getLogger().addHandler(handler)
  try:
    # The deadline only bounds a hang: the holder lets go as soon as this logs that it waits.
    with locks.exclusive(tmp_path / "lock", what="the test resource", wait_seconds=300, poll_seconds=0.05):
      assert (tmp_path / "release").exists()  # It waited for the holder ...
      assert holder.stdout.readline().strip() == "released"  # ... which had let go ...
      assert str(os.getpid()) in (tmp_path / "lock").read_text()  # ... and it holds the lock now.
  finally:
    logging.getLogger().removeHandler(handler)
    (tmp_path / "release").touch()
    assert holder.wait(timeout=60) == 0


def test_the_lock_of_a_killed_holder_is_taken_over(tmp_path, caplog):
  holder = _holder(tmp_path / "lock", tmp_path / "release")  # never released: killed
  os.kill(holder.pid, signal.SIGKILL)
  holder.wait()
  assert str(holder.pid) in (tmp_path / "lock").read_text()  # What a killed run leaves behind.
  caplog.set_level("INFO")
  with locks.exclusive(tmp_path / "lock", what="the test resource"):
    assert str(os.getpid()) in (tmp_path / "lock").read_text()
  assert any("no longer running" in r.getMessage() and str(holder.pid) in r.getMessage() for r in caplog.records)
  assert (tmp_path / "lock").read_text() == ""  # Released cleanly: nothing stale left.


def test_a_relative_path_works_from_the_current_directory(tmp_path, monkeypatch):
  monkeypatch.chdir(tmp_path)
  with locks.exclusive("relative.lock", what="the test resource"):
    assert (tmp_path / "relative.lock").exists()
