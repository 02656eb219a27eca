"""Tiny image files whose headers declare huge images (decompression bombs): nothing big is ever made.

Each is a valid header and a few bytes of pixel data; a decoder that trusts the header allocates
width x height x channels bytes before it finds the data missing.
"""

import io
import struct
import zlib

import cv2
import numpy as np
import tifffile


def _chunk(kind: bytes, data: bytes) -> bytes:
  return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_declaring(width: int, height: int) -> bytes:
  """An 8-bit RGB PNG header of `width x height` and one kilobyte of zlib'd zeros as its data."""
  header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
  return (
    b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(bytes(1024))) + _chunk(b"IEND", b"")
  )


def jpeg_declaring(width: int, height: int) -> bytes:
  """An 8x8 JPEG whose start-of-frame says `width x height` (both under 65536)."""
  data = bytearray(cv2.imencode(".jpg", np.zeros((8, 8, 3), np.uint8))[1].tobytes())
  frame = data.index(b"\xff\xc0")  # SOF0: length (2), precision (1), height (2), width (2)
  data[frame + 5 : frame + 9] = struct.pack(">HH", height, width)
  return bytes(data)


def tiff_declaring(width: int, height: int) -> bytes:
  """An 8x8 RGB TIFF whose ImageWidth and ImageLength tags say `width x height` (LONG values)."""
  buffer = io.BytesIO()
  tifffile.imwrite(buffer, np.zeros((8, 8, 3), np.uint8), photometric="rgb")
  data = bytearray(buffer.getvalue())
  first_ifd = struct.unpack("<I", data[4:8])[0]
  (entries,) = struct.unpack("<H", data[first_ifd : first_ifd + 2])
  for at in range(first_ifd + 2, first_ifd + 2 + 12 * entries, 12):
    tag, kind = struct.unpack("<HH", data[at : at + 4])
    if tag in (256, 257):  # ImageWidth, ImageLength
      data[at + 2 : at + 12] = struct.pack("<HII", 4, 1, width if tag == 256 else height)  # LONG, count 1
    assert kind in (3, 4) or tag not in (256, 257)
  return bytes(data)
