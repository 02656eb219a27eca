"""Random scenes for the synthetic dual-pixel dataset: textured planes at depths, and a camera.

Every function draws from the `np.random.Generator` it is given, so a scene depends only on its seed.
Textures come from the photographs that scikit-image ships and from procedural patterns. Images are
linear RGB float32 `[H, W, 3]`.
"""

import dataclasses

import cv2
import numpy as np
import skimage.data

from ifan_jax.data.synthetic_dp import render

# Photographs shipped inside the scikit-image wheel (no download): colour ones and grey textures.
COLOUR_PHOTOS = ("astronaut", "chelsea", "coffee", "rocket", "immunohistochemistry", "hubble_deep_field")
GREY_PHOTOS = ("brick", "grass", "gravel", "camera", "moon", "coins", "text")


@dataclasses.dataclass(frozen=True)
class SceneConfig:
  """Ranges the scenes are drawn from. Distances in metres, lens in millimetres."""

  max_foreground_layers: int = 3  # at least one object stands in front of the background
  background_m: tuple[float, float] = (2.0, 50.0)
  nearest_m: float = 0.4
  focal_length_mm: tuple[float, float] = (24.0, 85.0)
  f_number: tuple[float, float] = (1.8, 8.0)
  slant_probability: float = 0.5  # chance that a plane is slanted rather than fronto-parallel
  # The image is a window of a 36 mm wide sensor this many pixels across. 512 makes a 512-wide
  # image the whole frame: blurs about a third of DPDD's in pixels, most of them still recoverable.
  # 1680 gives DPDD's pixel pitch (config `physical`), where a third of the pixels are blurred
  # beyond 12 pixels.
  sensor_width_px: int = 512
  # Circles of confusion are clipped to this diameter (pixels). 8 keeps every blur in the range a few
  # minutes of CPU training learn to undo (config `default`); `physical` allows 32.
  max_coc: float = 8.0
  # A scene whose blurred image comes within this PSNR (dB) of its sharp image is drawn again: like
  # DPDD's photographs, every image shows defocus (inf keeps every scene).
  max_input_psnr: float = 40.0
  # True: blur in linear light, as a lens does; blurred images then come out brighter than the sharp
  # ones in sRGB (by up to 0.04 on average on high-contrast scenes). False: blur the sRGB values.
  blur_in_linear_light: bool = False


def srgb_to_linear(image: np.ndarray) -> np.ndarray:
  """The sRGB transfer curve, inverted: encoded values in [0, 1] to linear light."""
  return np.where(image <= 0.04045, image / 12.92, ((image + 0.055) / 1.055) ** 2.4).astype(np.float32)


def linear_to_srgb(image: np.ndarray) -> np.ndarray:
  """Linear light in [0, 1] to sRGB-encoded values (clipped to [0, 1])."""
  image = np.clip(image, 0.0, 1.0)
  return np.where(image <= 0.0031308, image * 12.92, 1.055 * image ** (1 / 2.4) - 0.055).astype(np.float32)


_MAX_DRAWS = 100  # scenes drawn per example before max_input_psnr is declared unreachable

_photo_cache: dict[str, np.ndarray] = {}


def _photo(name: str) -> np.ndarray:
  """A scikit-image sample photograph as sRGB float32 `[H, W, 3]` in [0, 1] (cached)."""
  if name not in _photo_cache:
    image = getattr(skimage.data, name)()
    if image.ndim == 2:
      image = np.repeat(image[..., None], 3, axis=-1)
    _photo_cache[name] = image[..., :3].astype(np.float32) / 255
  return _photo_cache[name]


def photo_texture(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
  """A random window of a sample photograph, rescaled to `h x w`, flipped at random; grey ones tinted."""
  name = rng.choice(COLOUR_PHOTOS + GREY_PHOTOS)
  photo = _photo(name)
  ph, pw = photo.shape[:2]
  zoom = rng.uniform(0.5, 1.0) * min(ph / h, pw / w)  # the window covers at least half the photo
  wh, ww = max(int(h * zoom), 8), max(int(w * zoom), 8)
  y, x = rng.integers(0, ph - wh + 1), rng.integers(0, pw - ww + 1)
  window = cv2.resize(
    photo[y : y + wh, x : x + ww], (w, h), interpolation=cv2.INTER_AREA if zoom > 1 else cv2.INTER_CUBIC
  )
  if rng.random() < 0.5:
    window = window[:, ::-1]
  if name in GREY_PHOTOS:
    window = window * rng.uniform(0.5, 1.0, size=3).astype(np.float32)
  return srgb_to_linear(np.clip(window, 0, 1))


def _random_colour(rng) -> np.ndarray:
  return srgb_to_linear(rng.uniform(0.05, 0.95, size=3).astype(np.float32))


def dead_leaves_texture(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
  """Overlapping discs of random colours with power-law radii: scale-invariant, like natural images."""
  image = np.empty((h, w, 3), np.float32)
  image[:] = _random_colour(rng)
  r_min, r_max = 3.0, max(h, w) / 4
  # Enough discs to cover the image about three times: E[r^2] = 2 r_min^2 ln(r_max / r_min) here.
  mean_area = np.pi * 2 * r_min**2 * np.log(r_max / r_min)
  for _ in range(int(3 * h * w / mean_area)):
    # Inverse-CDF sample of a 1/r^3 density on [r_min, r_max].
    u = rng.random()
    radius = (r_min**-2 - u * (r_min**-2 - r_max**-2)) ** -0.5
    centre = (int(rng.integers(0, w)), int(rng.integers(0, h)))
    cv2.circle(image, centre, int(radius), _random_colour(rng).tolist(), -1, lineType=cv2.LINE_AA)
  return image


def noise_texture(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
  """Coloured fractal noise: octaves of upsampled white noise with 1/f amplitudes."""
  image = np.zeros((h, w, 3), np.float32)
  for octave in range(1, 7):
    cells = 2**octave
    coarse = rng.standard_normal((cells, cells, 3)).astype(np.float32)
    image += cv2.resize(coarse, (w, h), interpolation=cv2.INTER_CUBIC) / octave
  image = (image - image.min()) / (np.ptp(image) + 1e-6)
  return srgb_to_linear(image)


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


_TEXTURES = (photo_texture, photo_texture, photo_texture, dead_leaves_texture, noise_texture, stripes_texture)


def random_texture(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
  """A texture drawn from the photographs (half the time) or the procedural patterns."""
  return _TEXTURES[rng.integers(len(_TEXTURES))](rng, h, w)


def random_mask(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
  """Coverage `[H, W]` in [0, 1] of a foreground object: an ellipse, a polygon or a smooth blob."""
  mask = np.zeros((h, w), np.float32)
  kind = rng.integers(3)
  size = rng.uniform(0.15, 0.45) * min(h, w)
  cx, cy = rng.uniform(0.1, 0.9) * w, rng.uniform(0.1, 0.9) * h
  if kind == 0:
    axes = (int(size), int(size * rng.uniform(0.4, 1.0)))
    cv2.ellipse(mask, (int(cx), int(cy)), axes, rng.uniform(0, 180), 0, 360, 1.0, -1, cv2.LINE_AA)
  elif kind == 1:
    angles = np.sort(rng.uniform(0, 2 * np.pi, int(rng.integers(3, 9))))
    radii = size * rng.uniform(0.5, 1.2, angles.size)
    points = np.stack([cx + radii * np.cos(angles), cy + radii * np.sin(angles)], -1)
    cv2.fillPoly(mask, [points.astype(np.int32)], 1.0, cv2.LINE_AA)
  else:
    noise = cv2.resize(rng.standard_normal((6, 6)).astype(np.float32), (w, h), interpolation=cv2.INTER_CUBIC)
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    falloff = np.hypot((x - cx) / size, (y - cy) / size)
    mask = np.clip((1.0 + 0.5 * noise - falloff) * 4, 0, 1).astype(np.float32)
  return mask


def plane_depth(
  rng: np.random.Generator, h: int, w: int, depth_m: float, slant_probability: float, nearest_m: float
) -> np.ndarray:
  """Depth `[H, W]` of a plane through `depth_m` at the image centre: fronto-parallel or slanted.

  A slanted plane has inverse depth linear in the image coordinates (true of any plane seen through
  a pinhole), varying by up to 60 % across the image; depths stay beyond `nearest_m`.
  """
  if rng.random() >= slant_probability:
    return np.full((h, w), depth_m, np.float32)
  y, x = np.mgrid[0:h, 0:w].astype(np.float32)
  direction = rng.uniform(0, 2 * np.pi)
  coordinate = ((x - w / 2) * np.cos(direction) + (y - h / 2) * np.sin(direction)) / max(h, w)
  inverse = (1 / depth_m) * (1 + rng.uniform(0.2, 1.2) * coordinate)
  return np.clip(1 / np.maximum(inverse, 1e-3), nearest_m, None).astype(np.float32)


def random_scene(
  rng: np.random.Generator, h: int, w: int, config: SceneConfig
) -> tuple[list[render.Layer], render.ThinLens]:
  """A background plane, 1 to `max_foreground_layers` objects in front of it, and a lens focused on one.

  At least one object, so that whatever the lens focuses on, something else is out of focus: a
  lone fronto-parallel plane in focus would give a blurred image equal to the sharp one.

  `h x w` is the canvas; the lens's pixel pitch comes from `config.sensor_width_px`, not from `w`.
  """
  log_near, log_far = np.log(config.background_m)
  background_m = float(np.exp(rng.uniform(log_near, log_far)))
  layers = [
    render.Layer(
      random_texture(rng, h, w),
      np.ones((h, w), np.float32),
      plane_depth(rng, h, w, background_m, config.slant_probability, config.nearest_m),
    )
  ]
  object_depths = np.exp(
    rng.uniform(np.log(config.nearest_m), np.log(background_m), int(rng.integers(1, config.max_foreground_layers + 1)))
  )
  for depth in sorted(object_depths, reverse=True):
    depth_m = plane_depth(rng, h, w, float(depth), config.slant_probability, config.nearest_m)
    layers.append(render.Layer(random_texture(rng, h, w), random_mask(rng, h, w), depth_m))
  focal_length = rng.uniform(*config.focal_length_mm)
  # Focus on a point of a random layer most of the time (as a photographer would), else anywhere.
  if rng.random() < 0.8:
    layer = layers[rng.integers(len(layers))]
    ys, xs = np.nonzero(layer.alpha > 0.5)
    pick = rng.integers(len(ys)) if len(ys) else None
    focus = float(layer.depth_m[ys[pick], xs[pick]]) if pick is not None else background_m
  else:
    focus = float(np.exp(rng.uniform(np.log(config.nearest_m), log_far)))
  focus = max(focus, focal_length / 1000 * 1.5)
  lens = render.ThinLens(
    focal_length_mm=focal_length, f_number=rng.uniform(*config.f_number), focus_m=focus, width_px=config.sensor_width_px
  )
  return layers, lens


def render_example(seed: tuple[int, ...], h: int, w: int, config: SceneConfig) -> dict[str, np.ndarray]:
  """Renders the scene of `seed` as sRGB uint8 `[h, w, 3]` images: sharp, left, right, blurred.

  Scenes with too little visible defocus (`config.max_input_psnr`) are drawn again from the same
  generator, so the result still depends only on the seed.
  """
  rng = np.random.default_rng(seed)
  for _ in range(_MAX_DRAWS):
    images = _render_scene(rng, h, w, config)
    if input_psnr(images) <= config.max_input_psnr:
      return images
  raise ValueError(
    f"{_MAX_DRAWS} scenes of seed {seed} ({h}x{w}) were all within max_input_psnr="
    f"{config.max_input_psnr} dB of sharp: raise it or widen the lens and depth ranges."
  )


def input_psnr(images: dict[str, np.ndarray]) -> float:
  """PSNR (dB) of the uint8 blurred image against the sharp one; inf when they are equal."""
  error = np.mean((images["blurred"].astype(np.float32) - images["sharp"]) ** 2)
  return float(10 * np.log10(255**2 / error)) if error else float("inf")


def _render_scene(rng: np.random.Generator, h: int, w: int, config: SceneConfig) -> dict[str, np.ndarray]:
  """One random scene as uint8 images. It is rendered on a canvas padded by the largest blur radius and
  cropped, so blur near the borders sees real content instead of a padding rule."""
  pad = int(np.ceil(config.max_coc / 2)) + 1
  layers, lens = random_scene(rng, h + 2 * pad, w + 2 * pad, config)
  if config.blur_in_linear_light:
    images = {k: linear_to_srgb(v) for k, v in render.render(layers, lens, config.max_coc).items()}
  else:
    layers = [dataclasses.replace(layer, color=linear_to_srgb(layer.color)) for layer in layers]
    images = {k: np.clip(v, 0.0, 1.0) for k, v in render.render(layers, lens, config.max_coc).items()}
  return {k: np.round(v[pad : pad + h, pad : pad + w] * 255).astype(np.uint8) for k, v in images.items()}
