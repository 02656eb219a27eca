"""Textures of the synthetic dual-pixel scenes: photographs that installed packages ship, and procedural patterns.

Which split may use which content is decided here (`CONTENT`): validation and test scenes are
textured only with photographs and pattern families that the training split never uses, so that
their PSNR measures images the model has not seen. Every function draws from the
`np.random.Generator` it is given and returns linear RGB float32 `[H, W, 3]` in [0, 1].
"""

import dataclasses
from collections.abc import Callable

import cv2
import matplotlib.cbook
import numpy as np
import skimage.data

from ifan_jax.data import srgb
from ifan_jax.io import images

# Photographs inside the scikit-image and matplotlib wheels (no download; CC0, public domain or
# shipped for any use, see README.md). skimage's `cat` is `chelsea`, so it appears nowhere else.
# Left out everywhere: `stereo_motorcycle` and the elevation maps of matplotlib, kept for held-out
# checks with real depth; `clock` (motion blurred) and images under 200 pixels.
TRAIN_PHOTOS = (
  "astronaut",
  "chelsea",
  "rocket",
  "immunohistochemistry",
  "hubble_deep_field",
  "brick",
  "grass",
  "gravel",
  "camera",
  "moon",
  "coins",
  "text",
)
VALIDATION_PHOTOS = ("grace_hopper", "retina", "page", "horse")
TEST_PHOTOS = ("coffee", "cell", "logo", "colorwheel")
_MATPLOTLIB_PHOTOS = {"grace_hopper": "grace_hopper.jpg"}

_photo_cache: dict[str, tuple[np.ndarray, bool]] = {}


def _load_photo(name: str) -> tuple[np.ndarray, bool]:
  """A shipped photograph as sRGB float32 `[H, W, 3]` in [0, 1], and whether it is grey (cached)."""
  if name not in _photo_cache:
    if name in _MATPLOTLIB_PHOTOS:
      path = matplotlib.cbook.get_sample_data(_MATPLOTLIB_PHOTOS[name], asfileobj=False)
      image = images.decode_rgb(images.read_bytes(path), str(path))
    else:
      image = getattr(skimage.data, name)()
    image = np.asarray(image)
    if image.dtype == bool:
      image = image.astype(np.uint8) * 255
    grey = image.ndim == 2
    if grey:
      image = np.repeat(image[..., None], 3, axis=-1)
    _photo_cache[name] = (image[..., :3].astype(np.float32) / 255, grey)
  return _photo_cache[name]


def photo_texture(rng: np.random.Generator, h: int, w: int, photos: tuple[str, ...] = TRAIN_PHOTOS) -> np.ndarray:
  """A random window of one of `photos` as an `h x w` texture, flipped at random; grey ones tinted.

  Photographs are never upsampled: an upsampled window is soft, and a network taught that such
  windows are sharp learns to leave soft detail alone and to sharpen crisp detail that is already
  in focus. The window lies between `h x w` pixels (1:1) and the whole photograph (area-
  downsampled); a photograph smaller than the canvas is mirrored out to cover it.
  """
  photo, grey = _load_photo(str(rng.choice(photos)))
  photo = np.pad(photo, ((0, max(0, h - photo.shape[0])), (0, max(0, w - photo.shape[1])), (0, 0)), mode="symmetric")
  ph, pw = photo.shape[:2]
  largest = min(ph / h, pw / w)  # the zoom at which the window is the whole photograph
  zoom = float(np.exp(rng.uniform(0.0, np.log(largest))))
  wh, ww = min(int(round(h * zoom)), ph), min(int(round(w * zoom)), pw)
  y, x = rng.integers(0, ph - wh + 1), rng.integers(0, pw - ww + 1)
  window = photo[y : y + wh, x : x + ww]
  if (wh, ww) != (h, w):
    window = cv2.resize(window, (w, h), interpolation=cv2.INTER_AREA)
  if rng.random() < 0.5:
    window = window[:, ::-1]
  if grey:
    window = window * rng.uniform(0.5, 1.0, size=3).astype(np.float32)
  return srgb.to_linear(np.clip(window, 0, 1))


def _random_colour(rng) -> np.ndarray:
  return srgb.to_linear(rng.uniform(0.05, 0.95, size=3).astype(np.float32))


def _filled(rng, h: int, w: int) -> np.ndarray:
  image = np.empty((h, w, 3), np.float32)
  image[:] = _random_colour(rng)
  return image


def _power_law_radii(rng, count: int, r_min: float, r_max: float) -> np.ndarray:
  """Inverse-CDF samples of a 1/r^3 density on [r_min, r_max]: the sizes of scale-invariant dead leaves."""
  u = rng.random(count)
  return (r_min**-2 - u * (r_min**-2 - r_max**-2)) ** -0.5


def _leaf_count(h: int, w: int, r_min: float, r_max: float, coverage: float) -> int:
  """Leaves covering the image `coverage` times: E[r^2] = 2 r_min^2 ln(r_max / r_min) for 1/r^3 radii."""
  return int(coverage * h * w / (np.pi * 2 * r_min**2 * np.log(r_max / r_min)))


def dead_leaves_texture(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
  """Overlapping discs of random colours with power-law radii: scale-invariant, like natural images.

  The smallest and largest radii are drawn too (1 to 4 pixels; a sixth to half the image), so that
  scenes cover edge densities from fine grain to a few large shapes."""
  image = _filled(rng, h, w)
  r_min, r_max = rng.uniform(1.0, 4.0), max(h, w) / rng.uniform(2.0, 6.0)
  count = _leaf_count(h, w, r_min, r_max, 3.0)
  radii = _power_law_radii(rng, count, r_min, r_max)
  xs, ys = rng.integers(0, w, count), rng.integers(0, h, count)
  colours = srgb.to_linear(rng.uniform(0.05, 0.95, (count, 3)).astype(np.float32))
  for radius, x, y, colour in zip(radii, xs, ys, colours):
    cv2.circle(image, (int(x), int(y)), max(int(radius), 1), colour.tolist(), -1, lineType=cv2.LINE_AA)
  return image


def noise_texture(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
  """Coloured fractal noise: octaves of upsampled white noise with 1/f amplitudes."""
  image = np.zeros((h, w, 3), np.float32)
  for octave in range(1, 7):
    cells = 2**octave
    coarse = rng.standard_normal((cells, cells, 3)).astype(np.float32)
    image += cv2.resize(coarse, (w, h), interpolation=cv2.INTER_CUBIC) / octave
  image = (image - image.min()) / (np.ptp(image) + 1e-6)
  return srgb.to_linear(image)


def stripes_texture(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
  """Two-colour stripes or checks at a random angle and period: sharp edges at every scale."""
  y, x = np.mgrid[0:h, 0:w].astype(np.float32)
  angle = rng.uniform(0, np.pi)
  period = rng.uniform(4, max(h, w) / 6)
  phase = (x * np.cos(angle) + y * np.sin(angle)) / period
  pattern = np.floor(phase) % 2
  if rng.random() < 0.5:
    pattern = (pattern + np.floor((-x * np.sin(angle) + y * np.cos(angle)) / period)) % 2
  a, b = _random_colour(rng), _random_colour(rng)
  return (a + pattern[..., None] * (b - a)).astype(np.float32)


_ALPHABET = np.array(list("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 .,;:!?-()"))


def text_texture(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
  """Lines of random characters in OpenCV's Hershey fonts, sizes and colours, turned by up to 30 degrees:
  thin strokes and dense edges, as in signs and documents."""
  pad = max(h, w) // 2  # room to turn the page without empty corners
  canvas = np.empty((h + 2 * pad, w + 2 * pad, 3), np.uint8)
  canvas[:] = np.round(rng.uniform(0.05, 0.95, 3) * 255)
  y = 0
  while y < canvas.shape[0]:
    scale = float(np.exp(rng.uniform(np.log(0.3), np.log(2.5))))
    font = int(rng.integers(8)) | (cv2.FONT_ITALIC if rng.random() < 0.2 else 0)
    thickness = int(rng.integers(1, 3 + int(scale)))
    line = "".join(rng.choice(_ALPHABET, int(rng.integers(10, 80))))
    y += cv2.getTextSize(line, font, scale, thickness)[0][1] + int(rng.integers(2, 10))
    colour = np.round(rng.uniform(0.05, 0.95, 3) * 255).tolist()
    cv2.putText(canvas, line, (int(rng.integers(-50, 50)), y), font, scale, colour, thickness, cv2.LINE_AA)
  turn = cv2.getRotationMatrix2D((canvas.shape[1] / 2, canvas.shape[0] / 2), rng.uniform(-30, 30), 1.0)
  canvas = cv2.warpAffine(canvas, turn, canvas.shape[1::-1], flags=cv2.INTER_LINEAR)
  return srgb.to_linear(canvas[pad : pad + h, pad : pad + w].astype(np.float32) / 255)


def foliage_texture(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
  """Branching twigs that fork 2-3 ways over five levels, with leaves of one hue family near the tips:
  the self-similar clutter of vegetation, thin dark lines over many small bright shapes. Drawn in sRGB."""
  image = np.empty((h, w, 3), np.float32)
  image[:] = rng.uniform(0.02, 0.5, 3)
  hue, size = rng.uniform(0, 360), max(h, w)
  stack = [
    (rng.uniform(0, w), rng.uniform(0, h), rng.uniform(0, 2 * np.pi), size * rng.uniform(0.08, 0.25), 5)
    for _ in range(int(rng.integers(6, 16)))
  ]
  while stack:
    x, y, angle, length, level = stack.pop()
    x2, y2 = x + length * np.cos(angle), y + length * np.sin(angle)
    bark = (np.array([0.5, 0.4, 0.3]) * rng.uniform(0.3, 1.2)).tolist()
    cv2.line(image, (int(x), int(y)), (int(x2), int(y2)), bark, max(1, level - 1), cv2.LINE_AA)
    stack += [
      (x2, y2, angle + rng.normal(0, 0.6), length * rng.uniform(0.55, 0.8), level - 1)
      for _ in range(int(rng.integers(2, 4)) if level else 0)
    ]
    leaves = int(rng.integers(2, 7)) if level <= 2 else 0
    if not leaves:
      continue
    hsv = np.stack(
      [(hue + rng.normal(0, 20, leaves)) % 360, rng.uniform(0.4, 1, leaves), rng.uniform(0.2, 0.95, leaves)], -1
    )
    colours = cv2.cvtColor(hsv[None].astype(np.float32), cv2.COLOR_HSV2RGB)[0]
    for colour, axis, dx, dy, turn in zip(
      colours,
      size * rng.uniform(0.006, 0.03, leaves),
      rng.normal(0, length / 2, leaves),
      rng.normal(0, length / 2, leaves),
      rng.uniform(0, 180, leaves),
    ):
      cv2.ellipse(
        image,
        (int(x2 + dx), int(y2 + dy)),
        (max(1, int(axis)), max(1, int(axis * 0.45))),
        turn,
        0,
        360,
        colour.tolist(),
        -1,
        cv2.LINE_AA,
      )
  return srgb.to_linear(np.clip(image, 0, 1))


def polygon_leaves_texture(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
  """Dead leaves of random triangles to hexagons (held out: validation only): straight edges and corners."""
  image = _filled(rng, h, w)
  r_min, r_max = rng.uniform(2.0, 5.0), max(h, w) / 4
  radii = _power_law_radii(rng, _leaf_count(h, w, r_min, r_max, 2.5), r_min, r_max)
  colours = srgb.to_linear(rng.uniform(0.05, 0.95, (len(radii), 3)).astype(np.float32))
  for radius, colour in zip(radii, colours):
    corners = int(rng.integers(3, 7))
    angles = np.sort(rng.uniform(0, 2 * np.pi, corners))
    centre = np.array([rng.uniform(0, w), rng.uniform(0, h)])
    points = centre + radius * rng.uniform(0.6, 1.4, (corners, 1)) * np.stack([np.cos(angles), np.sin(angles)], -1)
    cv2.fillPoly(image, [points.astype(np.int32)], colour.tolist(), cv2.LINE_AA)
  return image


def scribbles_texture(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
  """Curved strokes of random widths and colours (held out: validation only), like drawings and cables."""
  image = _filled(rng, h, w)
  for _ in range(int(rng.integers(20, 80))):
    heading = np.cumsum(rng.normal(0, 0.3, int(rng.integers(20, 120))))
    steps = np.stack([np.cos(heading), np.sin(heading)], -1) * rng.uniform(2, 8)
    points = steps.cumsum(0) + [rng.uniform(0, w), rng.uniform(0, h)]
    cv2.polylines(
      image, [points.astype(np.int32)], False, _random_colour(rng).tolist(), int(rng.integers(1, 6)), cv2.LINE_AA
    )
  return image


def mosaic_texture(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
  """Voronoi cells of random colours with grout lines of random width (held out: test only)."""
  seeds = np.full((h, w), 255, np.uint8)
  count = int(rng.integers(30, 600))
  seeds[rng.integers(0, h, count), rng.integers(0, w, count)] = 0
  _, labels = cv2.distanceTransformWithLabels(seeds, cv2.DIST_L2, 5, labelType=cv2.DIST_LABEL_CCOMP)
  colours = srgb.to_linear(rng.uniform(0.05, 0.95, (labels.max() + 1, 3)).astype(np.float32))
  image = colours[labels]
  border = cv2.morphologyEx(labels.astype(np.float32), cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8)) > 0
  grout = cv2.GaussianBlur(border.astype(np.float32), (0, 0), rng.uniform(0.5, 1.5))[..., None]
  return (image * (1 - grout) + grout * _random_colour(rng)).astype(np.float32)


def rings_texture(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
  """Concentric rings whose period shrinks with the radius (held out: test only): every orientation.

  Band-limited as a lens and sensor would: where the local period falls below 5 pixels the rings fade
  to their mean, gone at 2.5, so the pattern never aliases into moire."""
  y, x = np.mgrid[0:h, 0:w].astype(np.float32)
  size = max(h, w)
  radius = np.hypot(x - rng.uniform(-0.5, 1.5) * w, y - rng.uniform(-0.5, 1.5) * h)
  period, chirp = rng.uniform(3, size / 8), rng.uniform(0, 1.5)
  phase = radius / period * (1 + chirp * radius / size)
  local_period = period / (1 + 2 * chirp * radius / size)
  contrast = np.clip((local_period - 2.5) / 2.5, 0, 1)
  wave = np.clip(np.sin(2 * np.pi * phase) * rng.uniform(1, 8), -1, 1) * contrast * 0.5 + 0.5
  a, b = _random_colour(rng), _random_colour(rng)
  return (a + wave[..., None] * (b - a)).astype(np.float32)


@dataclasses.dataclass(frozen=True)
class Content:
  """What one split's textures are drawn from: photographs (`photo_share` of the time) or patterns."""

  photos: tuple[str, ...]
  patterns: tuple[Callable[[np.random.Generator, int, int], np.ndarray], ...]
  photo_share: float = 0.5

  def texture(self, rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    if rng.random() < self.photo_share:
      return photo_texture(rng, h, w, self.photos)
    return self.patterns[rng.integers(len(self.patterns))](rng, h, w)


CONTENT = {
  "train": Content(TRAIN_PHOTOS, (dead_leaves_texture, noise_texture, stripes_texture, text_texture, foliage_texture)),
  "validation": Content(VALIDATION_PHOTOS, (polygon_leaves_texture, scribbles_texture)),
  "test": Content(TEST_PHOTOS, (mosaic_texture, rings_texture)),
}
