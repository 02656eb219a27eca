"""Deblurring as a service: an HTTP API and a web page around one loaded model.

`uploads` reads a request's multipart body into memory under a size limit, `worker` is the queue
in front of the model, `encoding` encodes what the page shows and downloads, `app` builds the
Starlette application, `http` runs it under uvicorn with the timeouts uvicorn lacks; `static/`
holds the page (no asset from elsewhere). `Settings` are what an operator sets (each a flag of
`python -m ifan_jax.serve`, the command). Measured figures behind the defaults: docs/user_guide.md.
"""

import dataclasses
import math

from ifan_jax.inference import tiling


@dataclasses.dataclass(frozen=True)
class Settings:
  """The server's limits, each a flag of the command, with the reason for its default."""

  # Largest request body, MB (413 above): a 16-bit 12-megapixel TIFF (72 MB) is over it, a PNG of it is not.
  max_upload_mb: float = 50
  # Largest image, in pixels, checked in the upload's header before decoding (400 above): a 24-megapixel
  # photo (6000x4000). The default model deblurs 0.4 megapixels/s on 2 CPU cores, so one takes about
  # 60 s there, half the request deadline; a GPU does it in a fraction of that.
  max_pixels: int = 24_000_000
  # Seconds from a request's first byte to its answer (503 past it; the work stops before its next tile).
  request_timeout: float = 120
  # Seconds a connection may take to send complete request headers, and a body may go without data.
  read_timeout: float = 30
  # Input shapes whose compiled model is kept (least recently used goes): about 18 MB each on CPU.
  compiled_shapes: int = 8
  tile: int | None = None  # Square tiles of this many pixels; None: as the deblur CLI (when memory needs).
  overlap: int = tiling.DEFAULT_OVERLAP

  def check(self):
    """A ValueError naming the flag the server cannot run with: the command asks before the model loads."""
    if not (math.isfinite(self.max_upload_mb) and self.max_upload_mb * 2**20 >= 1024):
      raise ValueError(f"--max_upload_mb must be a number of at least 0.001 (1 KB), got {self.max_upload_mb}.")
    for name in ("request_timeout", "read_timeout"):
      value = getattr(self, name)
      if not (math.isfinite(value) and value > 0):
        raise ValueError(f"--{name} must be a positive number of seconds, got {value}.")
    for name in ("max_pixels", "compiled_shapes"):
      if getattr(self, name) < 1:
        raise ValueError(f"--{name} must be at least 1, got {getattr(self, name)}.")
    if self.tile is not None:
      tiling.check_tiling(self.tile, self.overlap)

  @property
  def max_bytes(self) -> int:
    return int(self.max_upload_mb * 2**20)
