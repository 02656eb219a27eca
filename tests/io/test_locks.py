"""ifan_jax.io.locks: a second holder is refused at once or waits; a killed holder's lock is taken over."""

import os
import signal
import subprocess
import sys
import time

import pytest

from ifan_jax.io import locks

_HOLD = """
import sys, time
from ifan_jax.io import locks
with locks.exclusive(sys.argv[1], what="the test resource"):
  print("held", flush=True)
  time.sleep(float(sys.argv[2]))
"""


def _holder(path, seconds):
  proc = subprocess.Popen([sys.executable, "-c", _HOLD, str(path), str(seconds)], stdout=subprocess.PIPE, text=True)
  assert proc.stdout.readline().strip() == "held"
  return proc


def test_a_live_holder_is_named_and_refused_at_once(tmp_path):
  holder = _holder(tmp_path / "lock", 30)
  try:
    start = time.monotonic()
    held = rf"the test resource is in use by process {holder.pid} on "
    with pytest.raises(locks.LockHeld, match=held), locks.exclusive(tmp_path / "lock", what="the test resource"):
      pass
    assert time.monotonic() - start < 5
  finally:
    holder.kill()
    holder.wait()


def test_a_waiter_gets_the_lock_when_the_holder_finishes(tmp_path):
  holder = _holder(tmp_path / "lock", 1.5)
  start = time.monotonic()
  with locks.exclusive(tmp_path / "lock", what="the test resource", wait_seconds=60, poll_seconds=0.1):
    assert time.monotonic() - start > 0.5  # It waited for the holder's second and a half.
  assert holder.wait(timeout=30) == 0


def test_the_lock_of_a_killed_holder_is_taken_over(tmp_path, caplog):
  holder = _holder(tmp_path / "lock", 60)
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
