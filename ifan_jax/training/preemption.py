"""SIGTERM (preemption) turns into a request to save and stop, checked once per training step."""

import signal
import threading

import jax
import numpy as np
from absl import logging
from jax.experimental import multihost_utils


class StopOnSigterm:
  """Context manager: while active, SIGTERM sets a flag instead of killing the process.

  `requested()` is true on every process as soon as any process got the signal, so
  that all hosts stop at the same step and write the same checkpoint together.
  """

  def __init__(self):
    self._flag = threading.Event()
    self._previous = None

  def _handle(self, signum, frame):
    del frame
    logging.warning("Received signal %d: saving a checkpoint and stopping after this step.", signum)
    self._flag.set()

  def __enter__(self):
    if threading.current_thread() is threading.main_thread():
      self._previous = signal.signal(signal.SIGTERM, self._handle)
    return self

  def __exit__(self, *exc):
    if self._previous is not None:
      signal.signal(signal.SIGTERM, self._previous)
      self._previous = None

  def requested(self) -> bool:
    local = self._flag.is_set()
    if jax.process_count() == 1:
      return local
    return bool(np.any(multihost_utils.process_allgather(np.asarray(local))))
