"""Random scenes for the synthetic dual-pixel dataset: textured planes at depths, and a camera.

Every function draws from the `np.random.Generator` it is given, so a scene depends only on its seed.
An example draws from two generators: its layout (depths, object shapes, lens, aperture, noise) and
its content (the textures, from the split's own photographs and patterns, `textures.CONTENT`), so
that the two are independent and either can change without moving the other. Images are linear
RGB float32 `[H, W, 3]`.
"""

import dataclasses

import cv2
import numpy as np

from ifan_jax.data import srgb
from ifan_jax.data.synthetic_dp import render, textures

SPLITS = ("train", "validation", "test")
# The last entry of an example's seed: which of its two random streams a generator draws.
LAYOUT_STREAM, CONTENT_STREAM = 0, 1


@dataclasses.dataclass(frozen=True)
class SceneConfig:
  """Ranges the scenes are drawn from. Distances in metres, lens in millimetres."""

  max_foreground_layers: int = 3  # at least one object stands in front of the background
  background_m: tuple[float, float] = (2.0, 50.0)
  nearest_m: float = 0.4
  focal_length_mm: tuple[float, float] = (24.0, 85.0)
  f_number: tuple[float, float] = (1.8, 8.0)
  slant_probability: float = 0.5  # chance that a plane is slanted rather than fronto-parallel
  # Chance that a plane's inverse depth also undulates smoothly (by up to 40 %), as terrain, cloth or
  # faces do: blur that varies continuously inside a region, not only from plane to plane.
  smooth_depth_probability: float = 0.0
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
  # Chance that a scene's aperture is not the ideal disk but a random `render.Aperture`: a polygon,
  # a soft or bright rim, a cat's-eye cut (`random_aperture`).
  aperture_probability: float = 0.0
  # Chance that the blurred image and the views get sensor noise, and its largest standard deviation
  # (sRGB units, at mid-grey); the sharp image stays clean.
  noise_probability: float = 0.0
  max_noise_sigma: float = 0.0


_MAX_DRAWS = 100  # scenes drawn per example before max_input_psnr is declared unreachable


def example_generators(seed: int, split: str, index: int) -> tuple[np.random.Generator, np.random.Generator]:
  """The layout and content generators of example `index` of `split`: `(seed, split, index, stream)`."""
  key = (seed, SPLITS.index(split), index)
  return (np.random.default_rng(key + (LAYOUT_STREAM,)), np.random.default_rng(key + (CONTENT_STREAM,)))


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


def _smooth_field(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
  """A smooth random field `[H, W]` in [-1, 1]: a few cells of white noise, upsampled bicubically."""
  cells = int(rng.integers(2, 7))
  field = cv2.resize(rng.standard_normal((cells, cells)).astype(np.float32), (w, h), interpolation=cv2.INTER_CUBIC)
  return field / (np.abs(field).max() + 1e-6)


def plane_depth(rng: np.random.Generator, h: int, w: int, depth_m: float, config: SceneConfig) -> np.ndarray:
  """Depth `[H, W]` of a surface through `depth_m` near the image centre: a plane, slanted or not,
  perhaps undulating.

  A slanted plane has inverse depth linear in the image coordinates (true of any plane seen through
  a pinhole), varying by up to 60 % across the image; an undulating one multiplies its inverse depth
  by `1 + a f` with `f` a smooth field in [-1, 1] and `a` up to 0.4. Depths stay beyond `nearest_m`.
  """
  inverse = np.full((h, w), 1 / depth_m, np.float32)
  if rng.random() < config.slant_probability:
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    direction = rng.uniform(0, 2 * np.pi)
    coordinate = ((x - w / 2) * np.cos(direction) + (y - h / 2) * np.sin(direction)) / max(h, w)
    inverse *= 1 + rng.uniform(0.2, 1.2) * coordinate
  if rng.random() < config.smooth_depth_probability:
    inverse *= 1 + rng.uniform(0.1, 0.4) * _smooth_field(rng, h, w)
  return np.clip(1 / np.maximum(inverse, 1e-3), config.nearest_m, None).astype(np.float32)


def random_aperture(rng: np.random.Generator, config: SceneConfig) -> render.Aperture:
  """The ideal disk, or (`aperture_probability` of the time) an iris of 5 to 9 blades or a circle with a
  soft rim (up to 0.6 of the radius wide), a radial profile, and half the time a cat's-eye cut."""
  if rng.random() >= config.aperture_probability:
    return render.CIRCLE
  blades = int(rng.choice([0, 5, 6, 7, 8, 9]))
  cat_eye = rng.uniform(0.05, 0.35) if rng.random() < 0.5 else 0.0
  return render.Aperture(
    blades=blades,
    rotation=rng.uniform(0, 2 * np.pi),
    softness=rng.uniform(0, 0.6),
    brightness=rng.uniform(-0.6, 0.6),
    cat_eye=cat_eye,
    cat_eye_angle=rng.uniform(0, 2 * np.pi),
  )


@dataclasses.dataclass(frozen=True)
class Scene:
  """Layers listed back to front, the lens and its aperture: everything `render.render` needs."""

  layers: list[render.Layer]
  lens: render.ThinLens
  aperture: render.Aperture


def random_scene(
  layout: np.random.Generator, content: np.random.Generator, h: int, w: int, config: SceneConfig, split: str = "train"
) -> Scene:
  """A background plane, 1 to `max_foreground_layers` objects in front of it, and a lens focused on one.

  Depths, shapes, lens and aperture come from `layout`; the textures from `content`, out of `split`'s
  photographs and patterns (`textures.CONTENT`). At least one object, so that whatever the lens
  focuses on, something else is out of focus: a lone fronto-parallel plane in focus would give a
  blurred image equal to the sharp one.

  `h x w` is the canvas; the lens's pixel pitch comes from `config.sensor_width_px`, not from `w`.
  """
  source = textures.CONTENT[split]
  log_near, log_far = np.log(config.background_m)
  background_m = float(np.exp(layout.uniform(log_near, log_far)))
  layers = [
    render.Layer(
      source.texture(content, h, w), np.ones((h, w), np.float32), plane_depth(layout, h, w, background_m, config)
    )
  ]
  object_depths = np.exp(
    layout.uniform(
      np.log(config.nearest_m), np.log(background_m), int(layout.integers(1, config.max_foreground_layers + 1))
    )
  )
  for depth in sorted(object_depths, reverse=True):
    depth_m = plane_depth(layout, h, w, float(depth), config)
    layers.append(render.Layer(source.texture(content, h, w), random_mask(layout, h, w), depth_m))
  focal_length = layout.uniform(*config.focal_length_mm)
  # Focus on a point of a random layer most of the time (as a photographer would), else anywhere.
  if layout.random() < 0.8:
    layer = layers[layout.integers(len(layers))]
    ys, xs = np.nonzero(layer.alpha > 0.5)
    pick = layout.integers(len(ys)) if len(ys) else None
    focus = float(layer.depth_m[ys[pick], xs[pick]]) if pick is not None else background_m
  else:
    focus = float(np.exp(layout.uniform(np.log(config.nearest_m), log_far)))
  focus = max(focus, focal_length / 1000 * 1.5)
  lens = render.ThinLens(
    focal_length_mm=focal_length,
    f_number=layout.uniform(*config.f_number),
    focus_m=focus,
    width_px=config.sensor_width_px,
  )
  return Scene(layers, lens, random_aperture(layout, config))


def render_example(seed: int, split: str, index: int, h: int, w: int, config: SceneConfig) -> dict[str, np.ndarray]:
  """Renders example `index` of `split` as sRGB uint8 `[h, w, 3]` images: sharp, left, right, blurred.

  Scenes with too little visible defocus (`config.max_input_psnr`) are drawn again from the same
  generators, so the result still depends only on `(seed, split, index)`.
  """
  layout, content = example_generators(seed, split, index)
  for _ in range(_MAX_DRAWS):
    images = _render_scene(layout, content, h, w, config, split)
    if input_psnr(images) <= config.max_input_psnr:
      return images
  raise ValueError(
    f"{_MAX_DRAWS} scenes of example {index} of {split} (seed {seed}, {h}x{w}) were all within "
    f"max_input_psnr={config.max_input_psnr} dB of sharp: raise it or widen the lens and depth ranges."
  )


def input_psnr(images: dict[str, np.ndarray]) -> float:
  """PSNR (dB) of the uint8 blurred image against the sharp one; inf when they are equal."""
  error = np.mean((images["blurred"].astype(np.float32) - images["sharp"]) ** 2)
  return float(10 * np.log10(255**2 / error)) if error else float("inf")


def add_sensor_noise(
  rng: np.random.Generator, views: dict[str, np.ndarray], config: SceneConfig
) -> dict[str, np.ndarray]:
  """Shot and read noise on the two sRGB views (`noise_probability` of the time); `blurred` stays their mean.

  The standard deviation is `sigma * sqrt(0.2 + 1.6 v)` at value `v`: `sigma` (drawn up to
  `max_noise_sigma`) at mid-grey, less in the shadows. The mean of the two views, like a sum of the
  two half-aperture signals, is then less noisy than either.
  """
  if rng.random() >= config.noise_probability:
    return views
  sigma = rng.uniform(0.0, config.max_noise_sigma)
  noisy = dict(views)
  for name in ("left", "right"):
    std = sigma * np.sqrt(0.2 + 1.6 * np.clip(views[name], 0, 1))
    noisy[name] = np.clip(views[name] + rng.standard_normal(views[name].shape).astype(np.float32) * std, 0, 1)
  noisy["blurred"] = (noisy["left"] + noisy["right"]) / 2
  return noisy


def _render_scene(
  layout: np.random.Generator, content: np.random.Generator, h: int, w: int, config: SceneConfig, split: str
) -> dict[str, np.ndarray]:
  """One random scene as uint8 images. It is rendered on a canvas padded by the largest blur radius and
  cropped, so blur near the borders sees real content instead of a padding rule."""
  pad = int(np.ceil(config.max_coc / 2)) + 1
  scene = random_scene(layout, content, h + 2 * pad, w + 2 * pad, config, split)
  layers = scene.layers
  if not config.blur_in_linear_light:
    layers = [dataclasses.replace(layer, color=srgb.from_linear(np.clip(layer.color, 0.0, 1.0))) for layer in layers]
  images = render.render(layers, scene.lens, config.max_coc, scene.aperture)
  images = {k: v[pad : pad + h, pad : pad + w] for k, v in images.items()}
  images = {
    k: srgb.from_linear(np.clip(v, 0.0, 1.0)) if config.blur_in_linear_light else np.clip(v, 0.0, 1.0)
    for k, v in images.items()
  }
  images = add_sensor_noise(layout, images, config)
  return {k: np.round(v * 255).astype(np.uint8) for k, v in images.items()}
