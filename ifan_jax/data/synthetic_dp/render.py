"""Physical image formation of a dual-pixel (DP) camera: thin-lens defocus and half-aperture views.

All images here are linear RGB, float32, `[H, W, 3]`; depths are metres. See README.md beside this
file for the model, the sign convention and the limits.
"""

import dataclasses

import cv2
import numpy as np

SENSOR_WIDTH_MM = 36.0  # a full-frame sensor, as DPDD's Canon EOS 5D Mark IV
# Signed circle-of-confusion diameters (pixels) at which the blur is evaluated; a pixel between two
# levels is blurred with both and the results mixed linearly. Steps grow with the blur because
# a 1-pixel change matters less in a wide blur than in a narrow one.
_SMALL_LEVELS = (0.0, 0.5, 1.0, 1.5, 2.0)
_LEVEL_GROWTH = 1.2


@dataclasses.dataclass(frozen=True)
class ThinLens:
  """A thin lens focused at `focus_m`, imaged on a sensor of `width_px` pixels across 36 mm."""

  focal_length_mm: float
  f_number: float
  focus_m: float
  width_px: int

  def __post_init__(self):
    if self.focus_m * 1000 <= self.focal_length_mm:
      raise ValueError(f"focus distance {self.focus_m} m must exceed the focal length {self.focal_length_mm} mm.")

  def coc_px(self, depth_m: np.ndarray) -> np.ndarray:
    """Signed circle-of-confusion diameter in pixels: positive behind the focal plane, negative in front.

    `c = A f (d - d_f) / (d (d_f - f))`, with aperture diameter `A = f / N`, divided by the pixel pitch.
    """
    f = self.focal_length_mm
    aperture = f / self.f_number
    d = np.asarray(depth_m, np.float64) * 1000
    d_f = self.focus_m * 1000
    coc_mm = aperture * f * (d - d_f) / (d * (d_f - f))
    return (coc_mm * self.width_px / SENSOR_WIDTH_MM).astype(np.float32)


def coc_levels(max_coc: float) -> np.ndarray:
  """Signed blur levels from `-max_coc` to `max_coc` (sorted), dense near zero, geometric beyond 2 px."""
  levels = list(_SMALL_LEVELS)
  while levels[-1] < max_coc:
    levels.append(levels[-1] * _LEVEL_GROWTH)
  levels = np.minimum(np.asarray(levels, np.float32), max_coc)
  levels = np.unique(levels)
  return np.concatenate([-levels[:0:-1], levels])


@dataclasses.dataclass(frozen=True)
class Aperture:
  """The lens's aperture, whose image every defocus PSF is (scaled to the circle of confusion).

  The default is the ideal disk. Real lenses differ, and a network trained on one shape learns that
  shape, so scenes can draw others: an iris of `blades` straight blades (a regular polygon, 0 for a
  circle) turned by `rotation` radians; a rim `softness` (its width is `1 + softness * radius`
  pixels, 0 for the anti-aliased 1-pixel edge); a radial `brightness` profile (weights
  `1 + brightness * ((r / R)^2 - 1/2)`: above 0 a bright rim, below a bright centre, as with
  spherical aberration); and a `cat_eye` cut, the intersection with a second disk shifted by
  `cat_eye` diameters in direction `cat_eye_angle`, as mechanical vignetting makes off-axis PSFs.
  """

  blades: int = 0
  rotation: float = 0.0
  softness: float = 0.0
  brightness: float = 0.0
  cat_eye: float = 0.0
  cat_eye_angle: float = 0.0

  def __post_init__(self):
    if self.blades and self.blades < 3:
      raise ValueError(f"An aperture needs 0 (a circle) or at least 3 blades, got {self.blades}.")
    if not 0 <= self.cat_eye < 1:
      raise ValueError(f"cat_eye {self.cat_eye} must be in [0, 1): at 1 diameter nothing is left.")

  def psf(self, coc: float) -> np.ndarray:
    """The full-aperture PSF `[2k+1, 2k+1]` of a signed circle of confusion `coc` (pixels), summing to 1.

    In front of the focal plane (coc < 0) the image of the aperture is turned by 180 degrees."""
    radius = abs(coc) / 2
    rim = 1.0 + self.softness * radius
    half = int(np.ceil(radius + rim / 2))
    y, x = np.mgrid[-half : half + 1, -half : half + 1].astype(np.float32)
    if coc < 0:
      y, x = -y, -x
    distance = self._radial_distance(x, y)
    weight = np.clip((radius - distance) / rim + 0.5, 0.0, 1.0)
    if self.brightness and radius > 0:
      weight *= np.clip(1.0 + self.brightness * ((np.minimum(distance / radius, 1.0)) ** 2 - 0.5), 0.0, None)
    if self.cat_eye:
      shift = self.cat_eye * 2 * radius
      other = np.hypot(x - shift * np.cos(self.cat_eye_angle), y - shift * np.sin(self.cat_eye_angle))
      weight *= np.clip((radius - other) / rim + 0.5, 0.0, 1.0)
    if weight.sum() <= 0:  # a blur far below a pixel: the point itself
      weight = (np.hypot(x, y) == 0).astype(np.float32)
    return (weight / weight.sum()).astype(np.float32)

  def _radial_distance(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Distance from the centre in units where the aperture's edge lies at its radius (a polygon's
    vertices on the circle, its sides inside it)."""
    distance = np.hypot(x, y)
    if not self.blades:
      return distance
    sector = 2 * np.pi / self.blades
    angle = np.mod(np.arctan2(y, x) - self.rotation, sector) - sector / 2
    return distance * np.cos(angle) / np.cos(sector / 2)


CIRCLE = Aperture()


def dual_pixel_psfs(
  coc: float, edge_softness: float = 0.2, aperture: Aperture = CIRCLE
) -> tuple[np.ndarray, np.ndarray]:
  """Left and right view PSFs of a point whose signed circle of confusion is `coc` pixels.

  The full-aperture PSF is `aperture.psf(coc)`: by default a disk of diameter |coc| with an
  anti-aliased rim. Each DP photodiode sees one half of the aperture: the left view keeps the left
  half behind the focal plane (coc > 0) and the right half in front of it (coc < 0); the right view
  the other half. The split is a smooth ramp `edge_softness` of the radius wide, not a hard cut.
  Each PSF is normalised to sum 1; for an aperture symmetric about the vertical axis (the circle,
  and every shape whose halves carry equal light) `(left + right) / 2` is the full PSF.
  """
  full = aperture.psf(coc)
  half = full.shape[0] // 2
  x = np.arange(-half, half + 1, dtype=np.float32)[None, :]
  ramp_width = max(edge_softness * abs(coc) / 2, 0.25)
  left_side = 1.0 / (1.0 + np.exp(np.sign(coc) * x / ramp_width))
  left, right = full * left_side, full * (1.0 - left_side)
  return left / left.sum(), right / right.sum()


def _level_position(coc: np.ndarray, levels: np.ndarray) -> np.ndarray:
  """Each pixel's coc as a fractional index into `levels` (2.25: a quarter of the way from 2 to 3)."""
  coc = np.clip(coc, levels[0], levels[-1])
  below = np.clip(np.searchsorted(levels, coc, side="right") - 1, 0, len(levels) - 2)
  return (below + (coc - levels[below]) / (levels[below + 1] - levels[below])).astype(np.float32)


def _scatter(part: np.ndarray, psf: np.ndarray, out: np.ndarray, rows: slice, cols: slice):
  """Adds `part` (the window `rows, cols` of a zero-elsewhere image) convolved with `psf` into `out`."""
  # filter2D correlates; flipping the PSF makes it a convolution (a scatter of each pixel's PSF).
  out[rows, cols] += cv2.filter2D(part, -1, np.ascontiguousarray(psf[::-1, ::-1]), borderType=cv2.BORDER_CONSTANT)


def blur_layer(
  premultiplied: np.ndarray, coc: np.ndarray, levels: np.ndarray, aperture: Aperture = CIRCLE
) -> tuple[np.ndarray, np.ndarray]:
  """Blurs one layer `[H, W, 4]` (alpha-premultiplied RGB, then alpha) into its left and right views.

  Each pixel is spread with the DP PSFs of its own circle of confusion `coc [H, W]` (a scatter),
  evaluated at the two nearest `levels` and mixed linearly. Each level is filtered only over the
  window where it has weight, grown by its PSF radius. Returns two `[H, W, 4]` arrays.
  """
  h, w = coc.shape
  position = _level_position(coc, levels)
  covered = premultiplied[..., 3] > 0
  left = np.zeros_like(premultiplied)
  right = np.zeros_like(premultiplied)
  floor = np.floor(position[covered]).astype(np.int64)
  for index in np.unique(np.concatenate([floor, floor + 1])):
    if index >= len(levels):
      continue
    weight = np.clip(1.0 - np.abs(position - index), 0.0, 1.0) * covered
    ys, xs = np.nonzero(weight.any(axis=1))[0], np.nonzero(weight.any(axis=0))[0]
    if not len(ys):
      continue
    psf_left, psf_right = dual_pixel_psfs(float(levels[index]), aperture=aperture)
    margin = psf_left.shape[0] // 2
    rows = slice(max(ys[0] - margin, 0), min(ys[-1] + margin + 1, h))
    cols = slice(max(xs[0] - margin, 0), min(xs[-1] + margin + 1, w))
    part = premultiplied[rows, cols] * weight[rows, cols, None]
    _scatter(part, psf_left, left, rows, cols)
    _scatter(part, psf_right, right, rows, cols)
  return left, right


@dataclasses.dataclass(frozen=True)
class Layer:
  """A textured plane: linear RGB `[H, W, 3]`, coverage `alpha [H, W]` in [0, 1], `depth_m [H, W]`."""

  color: np.ndarray
  alpha: np.ndarray
  depth_m: np.ndarray


def render(layers: list[Layer], lens: ThinLens, max_coc: float, aperture: Aperture = CIRCLE) -> dict[str, np.ndarray]:
  """Renders layers (listed back to front) into sharp, left, right and blurred linear images.

  Each layer is blurred on its own and composited over the layers behind it with its own blurred
  alpha ("over" operator), separately in each view, so a blurred foreground edge spreads over the
  background while the background never leaks in front of it. `blurred` is the mean of the two views:
  the sum of the two half-aperture images, normalised like DPDD's combined images. Circles of
  confusion are clipped to `max_coc` pixels; every PSF has the shape of `aperture`.
  """
  levels = coc_levels(max_coc)
  shape = layers[0].color.shape
  sharp, left, right = (np.zeros(shape, np.float32) for _ in range(3))
  for layer in layers:
    alpha = layer.alpha[..., None].astype(np.float32)
    premultiplied = np.concatenate([layer.color * alpha, alpha], axis=-1).astype(np.float32)
    coc = np.clip(lens.coc_px(layer.depth_m), -max_coc, max_coc)
    layer_left, layer_right = blur_layer(premultiplied, coc, levels, aperture)
    sharp = premultiplied[..., :3] + (1 - alpha) * sharp
    left = layer_left[..., :3] + (1 - layer_left[..., 3:]) * left
    right = layer_right[..., :3] + (1 - layer_right[..., 3:]) * right
  return {"sharp": sharp, "left": left, "right": right, "blurred": (left + right) / 2}
