"""The one image reader and writer of ifan_jax: PNG, JPEG and TIFF files and bytes, 8 or 16 bits.

Everything the project reads goes through `decode_pixels`: dataset folders while building
(`decode_rgb`, pixels as stored), photos to deblur, evaluation folders and uploads to the server
(`read_image` of a file, `decode_image` of its bytes, which also keep what a person's file carries:
alpha, grey, EXIF orientation). OpenCV
decodes, because Pillow cannot read 16-bit colour PNGs; with `IMREAD_UNCHANGED`, which
keeps the bit depth and the alpha channel, OpenCV applies a TIFF's Orientation tag itself
but ignores the EXIF orientation of PNG and JPEG files, so `decode_image` applies that one.
"""

import dataclasses
import io
import os
import tempfile

import cv2
import numpy as np
from absl import logging
from PIL import Image

# What the project reads and writes, suffix -> format.
FORMATS = {".png": "png", ".jpg": "jpeg", ".jpeg": "jpeg", ".tif": "tiff", ".tiff": "tiff"}
IMAGE_SUFFIXES = tuple(FORMATS)
JPEG_QUALITY = 95
_DEPTHS = {np.dtype(np.uint8): 8, np.dtype(np.uint16): 16}
_EXIF_ORIENTATION = 0x0112
_IGNORED_FILES = ("Thumbs.db",)
_JPEG_START = b"\xff\xd8"  # SOI
_JPEG_END = b"\xff\xd9"  # EOI
_JPEG_START_OF_SCAN = 0xDA
_JPEG_MARKERS_WITHOUT_LENGTH = frozenset([0x01, *range(0xD0, 0xD8)])  # TEM, RST0-7
_TIFF_STARTS = (b"II*\0", b"MM\0*", b"II+\0", b"MM\0+")  # little/big-endian, classic and BigTIFF
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_COLOR_TYPE_RGB = 2  # IHDR colour type byte (offset 25): 2 is RGB, 6 RGBA, 0 grey


class ImageReadError(ValueError):
  """Bytes or a file that are not a readable, complete PNG, JPEG or TIFF image of 8 or 16 bits."""


@dataclasses.dataclass
class Photo:
  """A decoded image: `rgb` is `[H, W, 3]` float32 in [0, 1], upright (EXIF orientation applied).

  `grayscale` sources are copied to three channels; `alpha` (`[H, W]`, the source's
  integer type) is kept aside untouched so that it can be written back unchanged.
  """

  rgb: np.ndarray
  bit_depth: int
  grayscale: bool = False
  alpha: np.ndarray | None = None


# Bytes.


def decode_pixels(data: bytes, name: str = "<bytes>") -> np.ndarray:
  """Decodes encoded image bytes as stored: `[H, W]` or `[H, W, C]` in OpenCV's BGR(A) order.

  Keeps the bit depth (uint8 or uint16) and any alpha channel. Raises ImageReadError naming
  `name` when the bytes are not a readable, complete 8- or 16-bit image.
  """
  if data.startswith(_JPEG_START) and not _jpeg_has_end(data):
    raise ImageReadError(f"{name}: truncated JPEG (no end-of-image marker after its image data).")
  image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED) if data else None
  if image is None:
    raise ImageReadError(f"{name}: cannot decode the image (unreadable or truncated file).")
  if image.dtype not in _DEPTHS:
    raise ImageReadError(f"{name}: unsupported pixel type {image.dtype}; expected 8- or 16-bit.")
  if data.startswith(_TIFF_STARTS):
    _warn_if_more_pages(data, name)
  return image


def _warn_if_more_pages(tiff: bytes, name: str):
  """Says when a TIFF has pages beyond the first, which OpenCV's `imdecode` reads alone."""
  try:
    with Image.open(io.BytesIO(tiff)) as image:
      pages = getattr(image, "n_frames", 1)
  # Pillow cannot parse every TIFF that OpenCV decodes (it raises many types): those go uncounted.
  except Exception:  # pylint: disable=broad-except
    return
  if pages > 1:
    logging.warning("%s: a TIFF of %d pages; reading page 1 only.", name, pages)


def _jpeg_has_end(data: bytes) -> bool:
  """Whether JPEG `data` has an end-of-image marker after the header of its first scan.

  OpenCV 4 decodes a truncated JPEG without an error (grey where data is missing), hence the check.
  It walks the segments from SOI by their lengths, so the end of an EXIF thumbnail inside APP1 does
  not count; scan data cannot hold FF D9 (its FF bytes are stuffed). Bytes after the end, such as
  the video a phone appends to a motion photo, are a trailer and fine.
  """
  pos = len(_JPEG_START)
  while pos + 4 <= len(data) and data[pos] == 0xFF:
    marker = data[pos + 1]
    if marker == 0xFF:  # fill byte
      pos += 1
    elif marker in _JPEG_MARKERS_WITHOUT_LENGTH:
      pos += 2
    else:
      pos += 2 + int.from_bytes(data[pos + 2 : pos + 4], "big")
      if marker == _JPEG_START_OF_SCAN:
        return data.find(_JPEG_END, pos) >= 0
  return False


def decode_rgb(data: bytes, name: str = "<bytes>") -> np.ndarray:
  """Decodes encoded image bytes to RGB `[H, W, 3]` uint8 or uint16, as stored (what datasets keep).

  Grey images are copied to three channels and an alpha channel is dropped.
  """
  image = decode_pixels(data, name)
  if image.ndim == 2:
    return np.repeat(image[:, :, None], 3, axis=2)
  if image.shape[2] == 4:
    image = image[:, :, :3]
  return np.ascontiguousarray(image[:, :, ::-1])


def is_rgb_png(data: bytes) -> bool:
  """True for PNG bytes whose header says RGB without alpha (what the TFDS image features store)."""
  return data[:8] == _PNG_SIGNATURE and len(data) > 25 and data[25] == _PNG_COLOR_TYPE_RGB


def encode_png(image: np.ndarray) -> bytes:
  """Encodes RGB `[H, W, 3]` uint8/uint16 as PNG bytes (lossless; 16-bit stays 16-bit)."""
  ok, data = cv2.imencode(".png", np.ascontiguousarray(image[:, :, ::-1]))
  if not ok:
    raise ValueError(f"cannot encode an image of shape {image.shape} and type {image.dtype} as PNG.")
  return data.tobytes()


# Arrays.


def to_float(image: np.ndarray) -> np.ndarray:
  """uint8 or uint16 pixels to float32 in [0, 1] (divided by 255 or 65535)."""
  if image.dtype == np.uint8:
    return np.multiply(image, np.float32(1 / 255), dtype=np.float32)
  if image.dtype == np.uint16:
    return np.multiply(image, np.float32(1 / 65535), dtype=np.float32)
  if image.dtype == np.float32:
    return image
  raise ValueError(f"expected uint8, uint16 or float32 pixels, got {image.dtype}.")


def quantize(values, bit_depth):
  """Floats in [0, 1] to the nearest `bit_depth` (8 or 16) integer code."""
  peak = 2**bit_depth - 1
  dtype = np.uint8 if bit_depth == 8 else np.uint16
  return np.round(np.clip(values, 0.0, 1.0) * peak).astype(dtype)


def crop_to_multiple(image: np.ndarray, multiple: int = 8) -> np.ndarray:
  """Drops the last rows and columns of `[..., H, W, C]` so that H and W are multiples of `multiple`."""
  h, w = image.shape[-3:-1]
  if h < multiple or w < multiple:
    raise ValueError(f"image of {h}x{w} is smaller than {multiple}x{multiple}.")
  return image[..., : h - h % multiple, : w - w % multiple, :]


# Files.


def image_format(path) -> str:
  """ "png", "jpeg" or "tiff" from the file name; a ValueError names any other extension."""
  ext = os.path.splitext(str(path))[1].lower()
  if ext not in FORMATS:
    raise ValueError(f"{path}: unsupported image type {ext!r}; supported: {', '.join(sorted(FORMATS))}.")
  return FORMATS[ext]


def _header(data: bytes):
  """(EXIF orientation, whether the pixels are grey) as Pillow reads them from the header, without decoding.

  OpenCV expands grey+alpha files to BGRA, so the colour type must come from the header.
  Bytes Pillow cannot parse give (1, None): no rotation, and OpenCV's channel count decides.
  """
  try:
    with Image.open(io.BytesIO(data)) as image:
      grey = image.mode in ("1", "L", "LA", "La", "I", "F") or image.mode.startswith("I;16")
      return int(image.getexif().get(_EXIF_ORIENTATION, 1)), grey
  except Exception:  # pylint: disable=broad-except
    return 1, None


def _upright(pixels, orientation):
  """Undoes EXIF orientation 2..8 on `[H, W, ...]` pixels (1 and unknown values: unchanged)."""
  transposed = pixels.swapaxes(0, 1)
  return {
    2: lambda: pixels[:, ::-1],
    3: lambda: pixels[::-1, ::-1],
    4: lambda: pixels[::-1],
    5: lambda: transposed,
    6: lambda: transposed[:, ::-1],
    7: lambda: transposed[::-1, ::-1],
    8: lambda: transposed[::-1],
  }.get(orientation, lambda: pixels)()


def read_bytes(path) -> bytes:
  try:
    with open(path, "rb") as f:
      return f.read()
  except OSError as e:
    raise ImageReadError(f"{path}: cannot read the file ({e.strerror or e}).") from None


def read_image(path) -> Photo:
  """Reads an 8- or 16-bit PNG, JPEG or TIFF (grey, grey+alpha, RGB or RGBA); raises ImageReadError.

  The extension is checked before the file is read, so that a folder's stray file is named as such.
  """
  image_format(path)
  return decode_image(read_bytes(path), str(path))


def decode_image(data: bytes, name: str) -> Photo:
  """`read_image` of a file's bytes (an upload), `name` being its file name: the same checks and errors.

  The name's extension must be that of a PNG, JPEG or TIFF file, as for `read_image`; what the bytes
  are decides the rest (a TIFF's orientation is applied by OpenCV, the others' EXIF orientation here).
  """
  image_format(name)
  pixels = decode_pixels(data, name)
  orientation, grey = _header(data)
  if not data.startswith(_TIFF_STARTS):
    pixels = np.ascontiguousarray(_upright(pixels, orientation))
  if pixels.ndim == 2:
    pixels = pixels[..., None]
  channels = pixels.shape[-1]
  alpha = pixels[..., -1].copy() if channels in (2, 4) else None
  colour = pixels[..., : 3 if channels >= 3 else 1]
  grayscale = colour.shape[-1] == 1 or bool(grey)
  colour = np.repeat(colour[..., :1], 3, axis=-1) if grayscale else colour[..., ::-1]  # OpenCV is BGR.
  return Photo(rgb=to_float(colour), bit_depth=_DEPTHS[pixels.dtype], grayscale=grayscale, alpha=alpha)


def write_image(path, rgb, *, bit_depth=8, grayscale=False, alpha=None):
  """Writes `rgb` ([H, W, 3] floats in [0, 1]) as PNG, JPEG or TIFF, chosen by `path`'s extension.

  `grayscale` writes one channel (the mean of the three); `alpha` ([H, W] integers of
  `bit_depth` bits) is appended unchanged. OpenCV writes 1, 3 or 4 channels, so grey with
  alpha is written as RGBA with equal colour channels. JPEG holds 8-bit images without alpha.
  """
  encoded = encode_image(image_format(path), rgb, bit_depth=bit_depth, grayscale=grayscale, alpha=alpha, name=str(path))
  with open(path, "wb") as f:
    f.write(encoded)


def encode_image(fmt, rgb, *, bit_depth=8, grayscale=False, alpha=None, name="<image>") -> bytes:
  """`write_image`'s bytes for format `fmt` ("png", "jpeg" or "tiff"), without a file."""
  if fmt == "jpeg" and (bit_depth != 8 or alpha is not None):
    raise ValueError(
      f"{name}: JPEG stores 8-bit images without alpha; got {bit_depth} bits"
      f"{' and alpha' if alpha is not None else ''}."
    )
  rgb = np.asarray(rgb)
  if grayscale:
    rgb = rgb.mean(axis=-1, keepdims=True)
    if alpha is not None:
      rgb = np.repeat(rgb, 3, axis=-1)
  pixels = quantize(rgb[..., ::-1], bit_depth)  # OpenCV is BGR.
  if alpha is not None:
    pixels = np.concatenate([pixels, np.asarray(alpha, pixels.dtype)[..., None]], axis=-1)
  params = [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY] if fmt == "jpeg" else []
  suffix = next(suffix for suffix, value in FORMATS.items() if value == fmt)
  ok, encoded = cv2.imencode(suffix, pixels, params)
  if not ok:
    raise OSError(f"{name}: OpenCV could not encode a {pixels.shape} {pixels.dtype} {fmt.upper()} image.")
  return encoded.tobytes()


def image_files(folder) -> list[str]:
  """The image files of `folder`, sorted by name; hidden files and `Thumbs.db` are skipped silently.

  Other files (a .bmp, notes) are skipped with a warning naming them, so that none goes missing unseen.
  Raises FileNotFoundError for a missing folder or one without images.
  """
  folder = os.fspath(folder)
  if not os.path.isdir(folder):
    raise FileNotFoundError(f"missing folder {folder}")
  files, others = [], []
  for name in sorted(os.listdir(folder)):
    if name.startswith(".") or name in _IGNORED_FILES:
      continue
    path = os.path.join(folder, name)
    if os.path.splitext(name)[1].lower() in IMAGE_SUFFIXES:
      files.append(path)
    elif os.path.isfile(path):
      others.append(name)
  if others:
    more = f" and {len(others) - 10} more" if len(others) > 10 else ""
    logging.warning("%s: skipping what is not a PNG, JPEG or TIFF image: %s%s.", folder, ", ".join(others[:10]), more)
  if not files:
    raise FileNotFoundError(f"folder {folder} has no images ({', '.join(IMAGE_SUFFIXES)})")
  return files


def list_images(inputs) -> list[str]:
  """Expands files and folders (not recursively, see `image_files`) into image files, folder by folder."""
  files = []
  for item in map(os.fspath, inputs):
    files.extend(image_files(item) if os.path.isdir(item) else [item])
  return files


def make_output_folder(path):
  """Creates folder `path` (and its parents) and checks that files can be written in it, so that a bad
  output folder fails before any work is done; the OSError names the folder."""
  if os.path.exists(path) and not os.path.isdir(path):
    raise NotADirectoryError(f"{path} is a file, not a folder: give a folder for the outputs.")
  try:
    os.makedirs(path, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=path, prefix=".write-test-"):
      pass
  except OSError as e:
    raise type(e)(f"Cannot write to the folder {path}: {e.strerror or e}. Choose a folder you can write to.") from e
