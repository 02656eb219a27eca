"""The queue in front of the model: one thread runs every deblurring, in the order requests came.

One model is loaded once; concurrent requests wait here instead of running the model side by side
(which would split the CPU or GPU between them and hold several images' activations at once).
`Deblurrer` compiles once per input shape, so a second image of a shape already seen runs at once.
"""

import asyncio
import concurrent.futures
import threading
import time

from ifan_jax.inference import files, tiling


class ModelWorker:
  """Runs `files.deblur_photo` (tiled like the deblur CLI when large) on its own single thread."""

  def __init__(self, deblurrer, *, tile=None, overlap=tiling.DEFAULT_OVERLAP):
    self.deblurrer, self.tile, self.overlap = deblurrer, tile, overlap
    self._executor = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="ifan-model")
    self._lock = threading.Lock()
    self._waiting = 0

  @property
  def waiting(self) -> int:
    """Requests queued or running."""
    return self._waiting

  def _run(self, photo, views, name):
    try:
      start = time.perf_counter()
      outputs = files.deblur_photo(self.deblurrer, photo, tile=self.tile, overlap=self.overlap, name=name, **views)
      return outputs, time.perf_counter() - start
    finally:
      with self._lock:
        self._waiting -= 1

  async def deblur(self, photo, *, views=None, name="upload"):
    """`(outputs, seconds)` of deblurring `photo` (`images.Photo`; `views`: dual-pixel `left`, `right`)."""
    with self._lock:
      self._waiting += 1
    future = self._executor.submit(self._run, photo, views or {}, name)
    return await asyncio.wrap_future(future)

  def close(self):
    self._executor.shutdown(wait=False, cancel_futures=True)
