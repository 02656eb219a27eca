"""SIGTERM (preemption) turns into a request to save and stop, which all processes agree on.

A single process acts on the signal at the next step. Several processes must stop at the
same step and write the same checkpoint together, which takes a cross-host all-gather; that
blocks every host on the slowest, so they agree only every `sync_every` steps (the logging
interval), which is also how long a preempted multi-host run may go on after the signal.
"""

import signal
import threading

import jax
import numpy as np
from absl import logging
from jax.experimental import multihost_utils


class StopOnSigterm:
  """Context manager: while active, SIGTERM sets a flag instead of killing the process."""

  def __init__(self, sync_every: int = 1):
    self._flag = threading.Event()
    self._previous = None
    self._sync_every = sync_every

  def _handle(self, signum, frame):
    del frame
    logging.warning("Received signal %d: saving a checkpoint and stopping.", signum)
    self._flag.set()

  def __enter__(self):
    if threading.current_thread() is threading.main_thread():
      self._previous = signal.signal(signal.SIGTERM, self._handle)
    return self

  def __exit__(self, *exc):
    if self._previous is not None:
      signal.signal(signal.SIGTERM, self._previous)
      self._previous = None

  def requested(self, step: int) -> bool:
    """Whether to stop after `step`: at once in a single process; on every process together, at a
    multiple of `sync_every`, as soon as any process got the signal."""
    local = self._flag.is_set()
    if jax.process_count() == 1:
      return local
    if step % self._sync_every:
      return False
    return bool(np.any(multihost_utils.process_allgather(np.asarray(local))))
