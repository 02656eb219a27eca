"""Automatic tiling (README, `deblur`: "tiled with blended seams when large"): with the device's free memory
simulated, an image that fits is deblurred whole, one that does not in tiles, with the same result."""

import numpy as np

from ifan_jax import Deblurrer
from ifan_jax.inference import photos, tiling
from ifan_jax.io import images
from tests.conftest import TINY_CONFIG, xavier_params
from tests.inference.test_photos import _smooth

SIZE = (320, 400)


def _deblur(deblurrer, monkeypatch, free_bytes):
  monkeypatch.setattr(tiling, "_free_memory_bytes", lambda: free_bytes)
  png = images.encode_image("png", _smooth(*SIZE, dtype=np.uint16) / 65535, bit_depth=16)
  photo = images.decode_image(png, "a.png")
  return photos.deblur_photo(deblurrer, photo, name="a.png")


def test_tiles_switch_on_when_memory_is_short(monkeypatch, caplog):
  deblurrer = Deblurrer(TINY_CONFIG, xavier_params(TINY_CONFIG))
  needed = tiling.estimated_bytes(TINY_CONFIG, *SIZE)
  caplog.set_level("INFO")
  whole = _deblur(deblurrer, monkeypatch, free_bytes=4 * needed)
  assert "disparity" in whole and "tiles" not in caplog.text  # deblurred whole: the disparity comes with it

  short = _deblur(deblurrer, monkeypatch, free_bytes=needed)  # half of it is the budget: too little
  assert "a.png: 400x320 in tiles of 256 pixels" in caplog.text
  assert "disparity" not in short
  # Blended seams over a 128-pixel overlap: the whole image's result (3.5e-6 measured).
  np.testing.assert_allclose(short["result"], whole["result"], rtol=0, atol=3e-5)
