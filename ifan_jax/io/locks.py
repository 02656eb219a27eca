"""Advisory locks on local files: one training run per workdir, one builder per dataset.

`fcntl.flock` locks belong to the open file, so the kernel releases them when their process
dies however it dies: a lock file left behind by a killed run is stale by construction and
is taken over at once. The file holds a JSON line about its holder (host, pid, command) so
that the refusal can say who holds it. Paths that are not on a local filesystem (`gs://`
and other URLs) cannot be locked this way and are not.
"""

import contextlib
import fcntl
import json
import os
import socket
import sys
import time

from absl import logging


class LockHeld(RuntimeError):
  """Another live process holds the lock."""


def _holder() -> dict:
  return {
    "host": socket.gethostname(),
    "pid": os.getpid(),
    "command": " ".join(sys.argv),
    "since": time.strftime("%Y-%m-%d %H:%M:%S"),
  }


def _describe(fd) -> str:
  os.lseek(fd, 0, os.SEEK_SET)
  text = os.read(fd, 4096).decode(errors="replace").strip()
  try:
    holder = json.loads(text)
    return f"process {holder['pid']} on {holder['host']} since {holder['since']} ({holder['command']})"
  except (ValueError, KeyError, TypeError):
    return "another process"


def _try_lock(fd) -> bool:
  try:
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    return True
  except BlockingIOError:
    return False


@contextlib.contextmanager
def exclusive(path, *, what: str, wait_seconds: float = 0.0, poll_seconds: float = 1.0):
  """Holds an exclusive lock on the file `path` (created if needed) for the `with` block.

  If another process holds it, waits up to `wait_seconds` (0: not at all) and then raises
  LockHeld, whose message names `what`, the lock file and the holder. A file whose holder
  died is taken over (with a log line saying so).
  """
  path = os.fspath(path)
  fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
  try:
    deadline = time.monotonic() + wait_seconds
    waiting_logged = False
    while not _try_lock(fd):
      if time.monotonic() >= deadline:
        raise LockHeld(
          f"{what} is in use by {_describe(fd)}: lock file {path}. Wait for it to finish, or stop it first."
        )
      if not waiting_logged:
        logging.info("Waiting for %s, held by %s (lock file %s).", what, _describe(fd), path)
        waiting_logged = True
      time.sleep(poll_seconds)
    if os.fstat(fd).st_size:
      logging.info("Taking over the lock of %s from %s, which is no longer running.", what, _describe(fd))
    os.ftruncate(fd, 0)
    os.pwrite(fd, (json.dumps(_holder()) + "\n").encode(), 0)
    try:
      yield
    finally:
      os.ftruncate(fd, 0)
      fcntl.flock(fd, fcntl.LOCK_UN)
  finally:
    os.close(fd)
