"""The one image reader and writer of ifan_jax: PNG, JPEG and TIFF files and bytes, 8 or 16 bits.

Everything the project reads goes through `decode_pixels`: dataset folders while building
(`decode_rgb`, pixels as stored), photos to deblur, evaluation folders and uploads to the server
(`read_image` of a file, `decode_image` of its bytes, which also keep what a person's file carries:
alpha, grey, EXIF orientation).

Before any pixel is decoded, the header says what the bytes are (PNG, JPEG or TIFF by their
signature, never by the name) and how many pixels they declare: more than `max_pixels` is an
ImageReadError, so that a tiny file declaring a huge image (a decompression bomb) costs nothing.
Pillow reads that header (without its own bomb check, which would refuse at 179 megapixels) and
OpenCV decodes, because Pillow cannot read 16-bit colour PNGs; with `IMREAD_UNCHANGED`, which
keeps the bit depth and the alpha channel, OpenCV applies a TIFF's Orientation tag itself but
ignores the EXIF orientation of PNG and JPEG files, so `decode_image` applies that one. One kind
of file OpenCV gets wrong is decoded by Pillow: an 8-bit TIFF with alpha, whose colours OpenCV's
libtiff path premultiplies by an unassociated alpha (and whose alpha it drops from grey+alpha).
"""

import dataclasses
import io
import os
import tempfile

import cv2
import numpy as np
from absl import logging
from PIL import Image

from ifan_jax.geometry import SIZE_MULTIPLE

# What the project reads and writes, suffix -> format.
FORMATS = {".png": "png", ".jpg": "jpeg", ".jpeg": "jpeg", ".tif": "tiff", ".tiff": "tiff"}
IMAGE_SUFFIXES = tuple(FORMATS)
JPEG_QUALITY = 95
# The most pixels the commands read from one file (the largest cameras take 100-150 megapixels;
# stitched panoramas may need --max_pixels raised). Decoding 200 megapixels of 16-bit RGBA takes 1.6 GB.
MAX_PIXELS = 200_000_000
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
_GREY_MODES = ("1", "L", "LA", "La", "I", "F")
_TIFF_ALPHA_MODES = ("RGBA", "RGBa", "LA", "La")  # Pillow's modes of TIFFs with an alpha sample, 8-bit
_TIFF_BITS_PER_SAMPLE = 258


class ImageReadError(ValueError):
  """Bytes or a file that are not a readable, complete PNG, JPEG or TIFF image of 8 or 16 bits."""


@dataclasses.dataclass
class Photo:
  """A decoded image: `rgb` is `[H, W, 3]` float32 in [0, 1], upright (EXIF orientation applied).

  `grayscale` sources are copied to three channels; `alpha` (`[H, W]`, the source's
  integer type) is kept aside untouched so that it can be written back unchanged. `fmt` is what
  the bytes are ("png", "jpeg", "tiff"), whatever the file's name says; `notes` say what of the
  file was left out (the pages of a TIFF after the first, the frames of an animation after the first).
  """

  rgb: np.ndarray
  bit_depth: int
  grayscale: bool = False
  alpha: np.ndarray | None = None
  fmt: str = "png"
  notes: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class Header:
  """What an image's header declares, read without decoding a pixel."""

  fmt: str  # "png", "jpeg" or "tiff", from the signature
  width: int
  height: int
  frames: int  # pages of a TIFF, frames of an animated PNG or of a multi-picture JPEG
  orientation: int  # EXIF (or TIFF) orientation, 1 when absent
  mode: str  # Pillow's mode: "RGB", "RGBA", "L", "I;16", ...
  bits: int  # bits per sample as the TIFF tag says (8 for the others: OpenCV tells 16-bit PNGs)

  @property
  def grey(self) -> bool:
    return self.mode in _GREY_MODES or self.mode.startswith("I;16")

  def notes(self) -> tuple[str, ...]:
    """What reading the first image only leaves out, in words for the person who sent the file."""
    if self.frames <= 1:
      return ()
    if self.fmt == "tiff":
      return (f"a TIFF of {self.frames} pages; reading page 1 only.",)
    kind = "an animated PNG" if self.fmt == "png" else "a multi-picture JPEG"
    return (f"{kind} of {self.frames} frames; reading the first only.",)


# Bytes.


def _format_of(data: bytes) -> str | None:
  """The format of `data` by its signature: "png", "jpeg" or "tiff"; None for anything else."""
  if data.startswith(_PNG_SIGNATURE):
    return "png"
  if data.startswith(_JPEG_START):
    return "jpeg"
  if data.startswith(_TIFF_STARTS):
    return "tiff"
  return None


def read_header(data: bytes, name: str = "<bytes>") -> Header:
  """The header of PNG, JPEG or TIFF bytes, parsed by Pillow's plugin without `Image.open`'s bomb check.

  Raises ImageReadError naming `name` for other bytes or a header that cannot be parsed.
  """
  fmt = _format_of(data)
  if fmt is None:
    raise ImageReadError(f"{name}: cannot decode the image: it is not a PNG, JPEG or TIFF file.")
  if fmt == "jpeg" and not _jpeg_has_end(data):
    raise ImageReadError(f"{name}: truncated JPEG (no end-of-image marker after its image data).")
  try:
    with _pillow(data, fmt) as image:
      # Pillow's PngImageFile.getexif decodes every pixel to look for an eXIf chunk after the data.
      exif = _png_exif(data) if fmt == "png" else image.getexif()
      orientation = int(exif.get(_EXIF_ORIENTATION, 1))
      bits = image.tag_v2.get(_TIFF_BITS_PER_SAMPLE, (8,)) if fmt == "tiff" else (8,)
      return Header(
        fmt,
        *image.size,
        frames=int(getattr(image, "n_frames", 1)),
        orientation=orientation,
        mode=image.mode,
        bits=int(bits[0] if isinstance(bits, tuple) else bits),
      )
  # Pillow raises many types for a header it cannot parse (SyntaxError, struct.error, ...).
  except Exception as e:  # pylint: disable=broad-except
    if fmt == "tiff" and isinstance(e, SyntaxError):  # Tags Pillow parsed but no pixel layout it knows.
      raise ImageReadError(
        f"{name}: cannot decode the TIFF ({e}): save it as an 8- or 16-bit grey, RGB or RGBA TIFF or PNG."
      ) from None
    raise ImageReadError(f"{name}: cannot decode the image (unreadable or truncated file).") from None


def _pillow(data: bytes, fmt: str) -> Image.Image:
  """Pillow's lazy image of `data` (header parsed, no pixel decoded) by the plugin of `fmt`.

  `Image.open` would also refuse over 179 megapixels (Pillow's own bomb check), under the limit the
  commands accept: our limit, checked by `check_pixels`, replaces it.
  """
  Image.init()
  return Image.OPEN[fmt.upper()][0](io.BytesIO(data))


def _png_exif(data: bytes) -> Image.Exif:
  """The EXIF of PNG `data` (its eXIf chunk, before or after the image data), found by chunk lengths alone."""
  exif, pos = Image.Exif(), len(_PNG_SIGNATURE)
  while pos + 8 <= len(data):
    length, kind = int.from_bytes(data[pos : pos + 4], "big"), data[pos + 4 : pos + 8]
    if kind == b"eXIf":
      try:
        exif.load(data[pos + 8 : pos + 8 + length])
      except Exception:  # pylint: disable=broad-except
        return Image.Exif()  # Unreadable EXIF: no orientation, as a viewer would show the file.
      break
    if kind == b"IEND":
      break
    pos += 12 + length  # length, type, data, CRC
  return exif


def check_pixels(header: Header, name: str, max_pixels: int):
  """An ImageReadError naming the file and both numbers when `header` declares over `max_pixels` pixels."""
  pixels = header.width * header.height
  if pixels > max_pixels:
    raise ImageReadError(
      f"{name}: {header.width}x{header.height} pixels ({pixels / 1e6:.1f} megapixels), more than the "
      f"{max_pixels / 1e6:g} megapixels accepted (--max_pixels)."
    )


def _decode(data: bytes, name: str, max_pixels: int) -> tuple[np.ndarray, Header]:
  """`decode_pixels`' pixels and the header they were checked against."""
  header = read_header(data, name)
  check_pixels(header, name, max_pixels)
  if header.fmt == "tiff" and header.bits == 8 and header.mode in _TIFF_ALPHA_MODES:
    image = _decode_with_pillow(data, header, name)
  else:
    try:
      image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    except cv2.error as e:  # Over OpenCV's own limit (2^30 pixels), or a decoder's failure.
      reason = str(e).strip().splitlines()[-1]
      raise ImageReadError(f"{name}: OpenCV cannot decode the image ({reason}).") from None
  if image is None:
    raise ImageReadError(f"{name}: cannot decode the image (unreadable or truncated file).")
  if image.dtype not in _DEPTHS:
    raise ImageReadError(f"{name}: unsupported pixel type {image.dtype}; expected 8- or 16-bit.")
  return image, header


def _decode_with_pillow(data: bytes, header: Header, name: str) -> np.ndarray:
  """An 8-bit TIFF with alpha as stored, in OpenCV's layout (BGRA or grey+alpha) and upright as OpenCV's."""
  try:
    with _pillow(data, header.fmt) as image:
      pixels = np.asarray(image)
  except Exception:  # pylint: disable=broad-except
    raise ImageReadError(f"{name}: cannot decode the image (unreadable or truncated file).") from None
  if pixels.shape[-1] == 4:
    pixels = pixels[..., [2, 1, 0, 3]]
  return np.ascontiguousarray(_upright(pixels, header.orientation))


def decode_pixels(data: bytes, name: str = "<bytes>", *, max_pixels: int = MAX_PIXELS) -> np.ndarray:
  """Decodes encoded image bytes as stored: `[H, W]` or `[H, W, C]` in OpenCV's BGR(A) order.

  Keeps the bit depth (uint8 or uint16) and any alpha channel (grey+alpha is `[H, W, 2]`). Raises
  ImageReadError naming `name` when the bytes are not a readable, complete 8- or 16-bit image or
  declare more than `max_pixels` pixels; what is left out of the file (pages, frames) is logged.
  """
  image, header = _decode(data, name, max_pixels)
  for note in header.notes():
    logging.warning("%s: %s", name, note)
  return image


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


def decode_rgb(data: bytes, name: str = "<bytes>", *, max_pixels: int = MAX_PIXELS) -> np.ndarray:
  """Decodes encoded image bytes to RGB `[H, W, 3]` uint8 or uint16, as stored (what datasets keep).

  Grey images are copied to three channels and an alpha channel is dropped.
  """
  image = decode_pixels(data, name, max_pixels=max_pixels)
  if image.ndim == 2 or image.shape[2] == 2:
    return np.repeat(image.reshape(*image.shape[:2], -1)[:, :, :1], 3, axis=2)
  if image.shape[2] == 4:
    image = image[:, :, :3]
  return np.ascontiguousarray(image[:, :, ::-1])


def is_rgb_png(data: bytes) -> bool:
  """True for PNG bytes whose header says RGB without alpha (what the TFDS image features store)."""
  return data[:8] == _PNG_SIGNATURE and len(data) > 25 and data[25] == _PNG_COLOR_TYPE_RGB


def encode_png(image: np.ndarray) -> bytes:
  """Encodes RGB `[H, W, 3]` uint8/uint16 as PNG bytes (lossless; 16-bit stays 16-bit)."""
  return encode_pixels("png", image)


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


def crop_to_multiple(image: np.ndarray, multiple: int = SIZE_MULTIPLE) -> np.ndarray:
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


def read_image(path, *, max_pixels: int = MAX_PIXELS) -> Photo:
  """Reads an 8- or 16-bit PNG, JPEG or TIFF (grey, grey+alpha, RGB or RGBA); raises ImageReadError.

  The extension is checked before the file is read, so that a folder's stray file is named as such;
  what the file holds beyond its first image is logged (`Photo.notes`).
  """
  image_format(path)
  photo = decode_image(read_bytes(path), str(path), max_pixels=max_pixels)
  for note in photo.notes:
    logging.warning("%s: %s", path, note)
  return photo


def decode_image(data: bytes, name: str, *, max_pixels: int = MAX_PIXELS) -> Photo:
  """`read_image` of a file's bytes (an upload), `name` being its file name: the same checks and errors.

  The name's extension must be that of a PNG, JPEG or TIFF file, as for `read_image`; what the bytes
  are decides the rest (a TIFF's orientation is applied by OpenCV, the others' EXIF orientation here).
  """
  image_format(name)
  pixels, header = _decode(data, name, max_pixels)
  if header.fmt != "tiff":
    pixels = np.ascontiguousarray(_upright(pixels, header.orientation))
  if pixels.ndim == 2:
    pixels = pixels[..., None]
  channels = pixels.shape[-1]
  alpha = pixels[..., -1].copy() if channels in (2, 4) else None
  colour = pixels[..., : 3 if channels >= 3 else 1]
  # OpenCV expands grey+alpha PNGs to BGRA: the header tells that they are grey.
  grayscale = colour.shape[-1] == 1 or header.grey
  colour = np.repeat(colour[..., :1], 3, axis=-1) if grayscale else colour[..., ::-1]  # OpenCV is BGR.
  return Photo(
    rgb=to_float(colour),
    bit_depth=_DEPTHS[pixels.dtype],
    grayscale=grayscale,
    alpha=alpha,
    fmt=header.fmt,
    notes=header.notes(),
  )


def write_image(path, rgb, *, bit_depth=8, grayscale=False, alpha=None):
  """Writes `rgb` ([H, W, 3] floats in [0, 1]) as PNG, JPEG or TIFF, chosen by `path`'s extension.

  `grayscale` writes one channel (the mean of the three); `alpha` ([H, W] integers of
  `bit_depth` bits) is appended unchanged. OpenCV writes 1, 3 or 4 channels, so grey with
  alpha is written as RGBA with equal colour channels. JPEG holds 8-bit images without alpha.
  """
  encoded = encode_image(image_format(path), rgb, bit_depth=bit_depth, grayscale=grayscale, alpha=alpha, name=str(path))
  with open(path, "wb") as f:
    f.write(encoded)


def _check_jpeg(fmt, bit_depth, alpha, name):
  if fmt == "jpeg" and (bit_depth != 8 or alpha is not None):
    raise ValueError(
      f"{name}: JPEG stores 8-bit images without alpha; got {bit_depth} bits"
      f"{' and alpha' if alpha is not None else ''}."
    )


def check_writable(photo: Photo, fmt: str, name: str):
  """Raises the ValueError that writing `photo` as `fmt` would, before any work is spent on it.

  Only JPEG refuses some photos (16 bits, alpha): those of a PNG or TIFF file named .jpg.
  """
  try:
    _check_jpeg(fmt, photo.bit_depth, photo.alpha, name)
  except ValueError as e:
    suffix = {"png": ".png", "tiff": ".tif"}.get(photo.fmt, ".png")
    raise ValueError(f"{e} The file holds a {photo.fmt.upper()} image: rename it to {suffix}.") from None


def encode_image(fmt, rgb, *, bit_depth=8, grayscale=False, alpha=None, name="<image>") -> bytes:
  """`write_image`'s bytes for format `fmt` ("png", "jpeg" or "tiff"), without a file."""
  _check_jpeg(fmt, bit_depth, alpha, name)
  rgb = np.asarray(rgb)
  if grayscale:
    rgb = rgb.mean(axis=-1, keepdims=True)
    if alpha is not None:
      rgb = np.repeat(rgb, 3, axis=-1)
  pixels = quantize(rgb, bit_depth)
  if alpha is not None:
    pixels = np.concatenate([pixels, np.asarray(alpha, pixels.dtype)[..., None]], axis=-1)
  return encode_pixels(fmt, pixels, name=name)


def encode_pixels(fmt, pixels: np.ndarray, *, name="<image>") -> bytes:
  """The one encoder: integer pixels (uint8 or uint16; `[H, W]` or `[H, W, 1]` grey, `[H, W, 3]` RGB or
  `[H, W, 4]` RGBA) as the bytes of a `fmt` ("png", "jpeg" or "tiff") file, JPEG at `JPEG_QUALITY`."""
  if pixels.ndim == 3 and pixels.shape[-1] in (3, 4):
    pixels = pixels[..., [2, 1, 0, 3][: pixels.shape[-1]]]  # OpenCV is BGR(A).
  params = [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY] if fmt == "jpeg" else []
  suffix = next(suffix for suffix, value in FORMATS.items() if value == fmt)
  ok, encoded = cv2.imencode(suffix, np.ascontiguousarray(pixels), params)
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
