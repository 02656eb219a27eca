"""The queue in front of the model: one thread runs every deblurring, in the order requests came.

One model is loaded once; concurrent requests wait here instead of running the model side by side
(which would split the CPU or GPU between them and hold several images' activations at once). A
request whose awaiting task is cancelled (its client left, its deadline passed, the server stops)
costs no more work: queued, it is skipped; running, it stops before its next tile. The thread is a
daemon, so that a stopping server exits without waiting for an image deblurred whole (XLA cannot
stop mid-call).
"""

import asyncio
import concurrent.futures
import dataclasses
import queue
import threading
import time

from absl import logging

from ifan_jax.inference import photos, tiling


@dataclasses.dataclass
class _Job:
  photo: object
  views: dict
  name: str
  future: concurrent.futures.Future
  stop: threading.Event = dataclasses.field(default_factory=threading.Event)


class ModelWorker:
  """Runs `photos.deblur_photo` (tiled like the deblur CLI when large) on its own single thread."""

  def __init__(self, deblurrer, *, tile=None, overlap=tiling.DEFAULT_OVERLAP):
    self.deblurrer, self.tile, self.overlap = deblurrer, tile, overlap
    self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
    self._lock = threading.Lock()
    self._waiting = 0
    self._thread = threading.Thread(target=self._serve, name="ifan-model", daemon=True)
    self._thread.start()

  @property
  def waiting(self) -> int:
    """Requests queued or running."""
    return self._waiting

  def _serve(self):
    while (job := self._jobs.get()) is not None:
      try:
        if job.future.set_running_or_notify_cancel():  # False: cancelled while queued
          self._run(job)
      finally:
        with self._lock:
          self._waiting -= 1

  def _run(self, job: _Job):
    try:
      if job.stop.is_set():
        raise tiling.Stopped("stopped before it started")
      start = time.perf_counter()
      outputs = photos.deblur_photo(
        self.deblurrer,
        job.photo,
        tile=self.tile,
        overlap=self.overlap,
        name=job.name,
        should_stop=job.stop.is_set,
        **job.views,
      )
      job.future.set_result((outputs, time.perf_counter() - start))
    except tiling.Stopped as stopped:
      logging.info("%s: %s (nobody waits for the result).", job.name, stopped)
      job.future.set_exception(stopped)
    except BaseException as error:  # pylint: disable=broad-except  # The request's task re-raises it.
      job.future.set_exception(error)

  async def deblur(self, photo, *, views=None, name="upload"):
    """`(outputs, seconds)` of deblurring `photo` (`images.Photo`; `views`: dual-pixel `left`, `right`).

    Cancelling the awaiting task stops the work (see the module docstring).
    """
    job = _Job(photo, views or {}, name, concurrent.futures.Future())
    with self._lock:
      self._waiting += 1
    self._jobs.put(job)
    try:
      return await asyncio.wrap_future(job.future)
    except asyncio.CancelledError:
      job.stop.set()
      raise

  def close(self):
    """Lets the thread end once the jobs queued so far are done or skipped (cancelled ones are)."""
    self._jobs.put(None)
