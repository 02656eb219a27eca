"""The synthetic dual-pixel dataset: thin-lens blur, half-aperture views, layered occlusion, the split's
content and the build."""

import dataclasses

import numpy as np
import pytest
import tensorflow_datasets as tfds

from ifan_jax.data import pipeline
from ifan_jax.data.synthetic_dp import render, scenes, textures
from ifan_jax.data.synthetic_dp import synthetic_dp_dataset_builder as builder_lib
from ifan_jax.io import images
from tests.data import subprocesses

LENS = render.ThinLens(focal_length_mm=50.0, f_number=2.0, focus_m=2.0, width_px=1680)


def test_circle_of_confusion_of_the_thin_lens():
  coc = LENS.coc_px(np.array([1.0, 2.0, 4.0, 1e9]))
  # c = A f (d - d_f) / (d (d_f - f)) mm with A = 25 mm, f = 50 mm, d_f = 2000 mm; 1680 px per 36 mm.
  scale = 25 * 50 / 1950 * 1680 / 36
  np.testing.assert_allclose(coc, [-scale, 0.0, scale / 2, scale], rtol=1e-5)
  assert abs(LENS.coc_px(np.array(1.0))) > abs(LENS.coc_px(np.array(4.0)))  # faster in front
  with pytest.raises(ValueError, match="must exceed the focal length"):
    render.ThinLens(focal_length_mm=50.0, f_number=2.0, focus_m=0.04, width_px=100)


@pytest.mark.parametrize("coc", [-9.0, -2.5, 0.0, 0.7, 6.0, 15.0])
def test_views_are_the_two_halves_of_the_full_aperture(coc):
  left, right = render.dual_pixel_psfs(coc)
  np.testing.assert_allclose([left.sum(), right.sum()], 1.0, rtol=1e-5)
  np.testing.assert_allclose(left, right[:, ::-1], atol=1e-6)  # mirror images
  combined = (left + right) / 2
  radius = abs(coc) / 2
  half = left.shape[0] // 2
  y, x = np.mgrid[-half : half + 1, -half : half + 1]
  assert combined[np.hypot(x, y) > radius + 0.5].sum() == 0  # nothing outside the disk
  centroid = (left * x).sum()
  if abs(coc) <= 1:
    assert abs(centroid) < 1e-6  # in focus: both views are the point itself
  else:
    # Behind the focal plane the left view keeps the left half (centroid -4R/(3 pi) for a hard split).
    assert np.sign(centroid) == -np.sign(coc)
    assert 0.6 * 4 * radius / (3 * np.pi) < abs(centroid) < 1.05 * 4 * radius / (3 * np.pi)


def _horizontal_shift(a, b, max_shift=20):
  """The shift s (pixels, subpixel) that best maps b onto a, a(x) ~ b(x - s), by least squares."""
  width = a.shape[1]
  core = slice(max_shift, width - max_shift)
  errors = np.array(
    [np.mean((a[:, core] - b[:, max_shift - s : width - max_shift - s]) ** 2) for s in range(-max_shift, max_shift + 1)]
  )
  best = int(np.argmin(errors[1:-1])) + 1
  lo, mid, hi = errors[best - 1 : best + 2]
  return best - max_shift + 0.5 * (lo - hi) / (lo - 2 * mid + hi)


@pytest.mark.parametrize("depth_m", [1.2, 8.0])
def test_left_right_disparity_flips_sign_across_the_focal_plane(depth_m):
  rng = np.random.default_rng(0)
  texture = textures.dead_leaves_texture(rng, 96, 160)
  layer = render.Layer(texture, np.ones((96, 160), np.float32), np.full((96, 160), depth_m, np.float32))
  coc = float(LENS.coc_px(np.array(depth_m)))
  out = render.render([layer], LENS, max_coc=40)
  inner = (slice(24, 72), slice(24, 136))
  shift = _horizontal_shift(out["left"][inner].mean(-1), out["right"][inner].mean(-1))
  # Each view's PSF centroid is ~0.85 R / 2 from the centre, so left sits ~0.42 |coc| from right,
  # to the left (negative) behind the focal plane and to the right in front of it.
  assert np.sign(shift) == -np.sign(coc)
  assert 0.25 * abs(coc) < abs(shift) < 0.6 * abs(coc), (coc, shift)


def test_blurred_is_the_mean_of_the_views_and_focus_is_sharp():
  rng = np.random.default_rng(1)
  texture = textures.noise_texture(rng, 48, 64)
  in_focus = render.Layer(texture, np.ones((48, 64), np.float32), np.full((48, 64), LENS.focus_m, np.float32))
  out = render.render([in_focus], LENS, max_coc=20)
  for view in ("left", "right", "blurred"):
    np.testing.assert_allclose(out[view], texture, atol=1e-5)
  far = render.Layer(texture, in_focus.alpha, np.full((48, 64), 10.0, np.float32))
  out = render.render([far], LENS, max_coc=20)
  np.testing.assert_allclose(out["blurred"], (out["left"] + out["right"]) / 2, atol=1e-6)
  assert np.abs(out["blurred"] - texture)[10:-10, 10:-10].mean() > 0.01


def test_in_focus_foreground_occludes_the_blurred_background():
  h, w = 64, 64
  background = render.Layer(
    np.ones((h, w, 3), np.float32), np.ones((h, w), np.float32), np.full((h, w), 30.0, np.float32)
  )
  alpha = np.zeros((h, w), np.float32)
  alpha[16:48, 16:48] = 1
  foreground = render.Layer(np.zeros((h, w, 3), np.float32), alpha, np.full((h, w), LENS.focus_m, np.float32))
  out = render.render([background, foreground], LENS, max_coc=20)
  for view in ("left", "right", "blurred", "sharp"):
    np.testing.assert_array_equal(out[view][16:48, 16:48], 0.0)  # no bright background leaks in front
    # Further than the blur radius (10) from the image border (black beyond it), the background is intact.
    np.testing.assert_allclose(out[view][11:15, 11:53], 1.0, atol=1e-5)


def test_a_blurred_foreground_spreads_over_the_background():
  h, w = 64, 64
  background = render.Layer(
    np.ones((h, w, 3), np.float32), np.ones((h, w), np.float32), np.full((h, w), LENS.focus_m, np.float32)
  )
  alpha = np.zeros((h, w), np.float32)
  alpha[24:40, 24:40] = 1
  foreground = render.Layer(np.zeros((h, w, 3), np.float32), alpha, np.full((h, w), 0.8, np.float32))
  out = render.render([background, foreground], LENS, max_coc=16)
  assert (out["blurred"][32, 20] < 0.9).all() and (out["sharp"][32, 20] == 1.0).all()  # dark blur spills out
  np.testing.assert_allclose(out["blurred"][9:12, 9:55], 1.0, atol=1e-5)  # beyond the blur radius (8)


APERTURES = [
  render.Aperture(blades=6, rotation=0.4),
  render.Aperture(softness=0.6),
  render.Aperture(brightness=0.6),
  render.Aperture(brightness=-0.6),
  render.Aperture(blades=5, softness=0.3, cat_eye=0.3, cat_eye_angle=0.5),
]


@pytest.mark.parametrize("aperture", APERTURES)
@pytest.mark.parametrize("coc", [-7.0, -0.4, 0.0, 3.0, 8.0])
def test_every_aperture_gives_normalised_views(aperture, coc):
  full = aperture.psf(coc)
  left, right = render.dual_pixel_psfs(coc, aperture=aperture)
  np.testing.assert_allclose([full.sum(), left.sum(), right.sum()], 1.0, rtol=1e-5)
  assert full.min() >= 0 and left.min() >= 0 and right.min() >= 0
  assert full.shape == left.shape and full.shape[0] % 2 == 1
  if abs(coc) <= 0.5:
    assert full[full.shape[0] // 2, full.shape[1] // 2] > 0.5  # nearly in focus: nearly the point itself


def test_aperture_shapes():
  disk = render.CIRCLE.psf(8.0)
  hexagon = render.Aperture(blades=6).psf(8.0)
  assert (hexagon > 0).sum() < (disk > 0).sum()  # a polygon inside its circle
  np.testing.assert_allclose(hexagon, hexagon[::-1, :], atol=1e-6)  # a vertex on the x axis: mirror symmetric
  soft = render.Aperture(softness=0.6).psf(8.0)
  assert soft.shape[0] > disk.shape[0] and soft.max() < disk.max()  # a wider, gentler rim
  rim = render.Aperture(brightness=0.6).psf(8.0)
  assert rim[5, 5] < rim[5, 2]  # a bright rim: the centre weighs less than near the edge
  cat_eye = render.Aperture(cat_eye=0.3).psf(8.0)  # cut by a disk shifted to the right
  columns = np.arange(cat_eye.shape[1]) - cat_eye.shape[1] // 2
  assert (cat_eye.sum(0) * columns).sum() > 0.5
  behind, in_front = render.Aperture(cat_eye=0.3).psf(8.0), render.Aperture(cat_eye=0.3).psf(-8.0)
  np.testing.assert_allclose(in_front, behind[::-1, ::-1], atol=1e-6)  # turned by 180 degrees in front of focus
  with pytest.raises(ValueError, match="at least 3 blades"):
    render.Aperture(blades=2)


def test_the_default_disk_is_the_former_psf():
  """Aperture() reproduces the anti-aliased disk of 1.x, so configs without aperture variety keep it."""
  for coc in (-9.0, 0.0, 2.5, 6.0):
    radius = abs(coc) / 2
    half = int(np.ceil(radius + 0.5))
    y, x = np.mgrid[-half : half + 1, -half : half + 1].astype(np.float32)
    disk = np.clip(radius + 0.5 - np.hypot(x, y), 0.0, 1.0)
    np.testing.assert_allclose(render.CIRCLE.psf(coc), disk / disk.sum(), atol=1e-7)


def test_splits_draw_textures_from_disjoint_photographs_and_patterns():
  splits = {name: textures.CONTENT[name] for name in scenes.SPLITS}
  for a, b in [("train", "validation"), ("train", "test"), ("validation", "test")]:
    assert not set(splits[a].photos) & set(splits[b].photos), (a, b)
    assert not set(splits[a].patterns) & set(splits[b].patterns), (a, b)
  every_photo = [photo for content in splits.values() for photo in content.photos]
  assert "cat" not in every_photo  # skimage's cat is chelsea, a training photograph
  assert "stereo_motorcycle" not in every_photo  # kept for held-out checks with real depth
  assert all(textures._load_photo(photo)[0].shape[2] == 3 for photo in every_photo)  # all ship in the wheels


@pytest.mark.parametrize("split", ["validation", "test"])
def test_held_out_splits_never_render_a_training_photograph(monkeypatch, split):
  used = []
  load = textures._load_photo
  monkeypatch.setattr(textures, "_load_photo", lambda name: used.append(name) or load(name))
  for index in range(6):
    scenes.render_example(0, split, index, 32, 48, scenes.SceneConfig())
  assert used and set(used) <= set(textures.CONTENT[split].photos)


def _layout_only(scene):
  return ([(layer.alpha, layer.depth_m) for layer in scene.layers], scene.lens, scene.aperture)


def test_depth_layouts_come_from_their_own_seed_stream():
  config = scenes.SceneConfig(aperture_probability=0.5, smooth_depth_probability=0.5)
  layout, content = scenes.example_generators(0, "validation", 1)
  first = scenes.random_scene(layout, content, 40, 56, config, "validation")
  layout, _ = scenes.example_generators(0, "validation", 1)
  other_content = np.random.default_rng(12345)
  second = scenes.random_scene(layout, other_content, 40, 56, config, "validation")
  (layers_a, lens_a, aperture_a), (layers_b, lens_b, aperture_b) = _layout_only(first), _layout_only(second)
  assert lens_a == lens_b and aperture_a == aperture_b and len(layers_a) == len(layers_b)
  for (alpha_a, depth_a), (alpha_b, depth_b) in zip(layers_a, layers_b):
    np.testing.assert_array_equal(alpha_a, alpha_b)
    np.testing.assert_array_equal(depth_a, depth_b)
  assert not np.array_equal(first.layers[0].color, second.layers[0].color)  # the textures did change
  lenses = {
    split: scenes.random_scene(*scenes.example_generators(0, split, 1), 40, 56, config, split).lens
    for split in scenes.SPLITS
  }
  assert len(set(lenses.values())) == 3  # each split its own layouts


def test_smooth_depth_undulates_within_its_bounds():
  rng = np.random.default_rng(0)
  flat = scenes.SceneConfig(slant_probability=0.0)
  np.testing.assert_array_equal(scenes.plane_depth(rng, 30, 40, 5.0, flat), 5.0)
  wavy = scenes.SceneConfig(slant_probability=0.0, smooth_depth_probability=1.0)
  inverse = 1 / scenes.plane_depth(rng, 30, 40, 5.0, wavy)
  assert np.ptp(inverse) > 0.01 and np.all(np.abs(inverse * 5.0 - 1) <= 0.4 + 1e-5)


def test_sensor_noise_leaves_the_sharp_image_clean_and_blurred_the_mean_of_the_views():
  config = scenes.SceneConfig(noise_probability=1.0, max_noise_sigma=0.03)
  clean = scenes.render_example(0, "train", 0, 48, 64, dataclasses.replace(config, noise_probability=0.0))
  noisy = scenes.render_example(0, "train", 0, 48, 64, config)
  np.testing.assert_array_equal(noisy["sharp"], clean["sharp"])
  mean = (noisy["left"].astype(np.float32) + noisy["right"]) / 2
  assert np.abs(mean - noisy["blurred"]).max() <= 1.0  # uint8 rounding of each
  assert np.abs(noisy["left"].astype(np.float32) - clean["left"]).mean() > 0.5


def test_examples_depend_only_on_their_seed():
  config = scenes.SceneConfig()
  a = scenes.render_example(0, "validation", 2, 32, 48, config)
  b = scenes.render_example(0, "validation", 2, 32, 48, config)
  c = scenes.render_example(0, "validation", 3, 32, 48, config)
  assert set(a) == {"sharp", "left", "right", "blurred"}
  for k in a:
    assert a[k].shape == (32, 48, 3) and a[k].dtype == np.uint8
    np.testing.assert_array_equal(a[k], b[k])
  assert not np.array_equal(a["sharp"], c["sharp"])


def test_scenes_without_visible_defocus_are_drawn_again():
  every_scene = scenes.SceneConfig(max_input_psnr=float("inf"))
  kept = [scenes.input_psnr(scenes.render_example(0, "train", i, 32, 48, every_scene)) for i in range(6)]
  assert max(kept) > 30  # some scenes are nearly in focus ...
  strict = scenes.SceneConfig(max_input_psnr=30.0)
  assert all(scenes.input_psnr(scenes.render_example(0, "train", i, 32, 48, strict)) <= 30 for i in range(6))
  with pytest.raises(ValueError, match=r"within max_input_psnr=0.0 dB of sharp"):
    scenes.render_example(0, "train", 0, 32, 48, scenes.SceneConfig(max_input_psnr=0.0))


def test_blurring_in_linear_light_brightens_the_srgb_image():
  shifts = {}
  for linear in (True, False):
    config = scenes.SceneConfig(blur_in_linear_light=linear, max_coc=32.0, max_input_psnr=float("inf"))
    examples = [scenes.render_example(1, "train", i, 48, 64, config) for i in range(8)]
    shifts[linear] = np.array([np.mean(images.to_float(e["blurred"]) - images.to_float(e["sharp"])) for e in examples])
  # The same scenes: the sRGB curve is concave, so encoding a blur of linear values gives more than
  # blurring encoded ones; and a blur of encoded values keeps their mean, up to occlusion and borders.
  assert np.all(shifts[True] > shifts[False]) and np.mean(shifts[True]) > 0.003
  assert np.median(np.abs(shifts[False])) < 0.001


def test_a_config_of_ones_own_is_usable_by_name(tmp_path):
  config = builder_lib.SyntheticDPConfig(
    name="mine", height=16, width=24, num_train=2, num_validation=1, num_test=1, seed=3
  )
  pipeline.ensure_built("synthetic_dp", str(tmp_path), config=config)
  batch = next(
    pipeline.train_iterator(dataset="synthetic_dp/mine", data_dir=str(tmp_path), crop_size=16, batch_size=2, seed=0)
  )
  assert batch["blurred"].shape == (2, 16, 16, 3)
  example = next(pipeline.eval_iterator(dataset="synthetic_dp/mine", data_dir=str(tmp_path)))
  expected = scenes.render_example(3, "test", 0, 16, 24, scenes.SceneConfig())
  np.testing.assert_array_equal(example["sharp"][0], images.to_float(expected["sharp"]))


def test_config_sizes_are_checked():
  with pytest.raises(ValueError, match="60x96 must be at least 16x16 and a multiple of 8"):
    builder_lib.SyntheticDPConfig(name="odd", height=60, width=96)


def test_tiny_build(tiny_data_dir):
  builder = tfds.builder("synthetic_dp/tiny", data_dir=tiny_data_dir)
  counts = {s: i.num_examples for s, i in builder.info.splits.items()}
  assert counts == {"train": 8, "validation": 4, "test": 4}
  source = builder.as_data_source(split="validation")
  example = source[3]
  assert example["name"].decode() == "validation_00003"
  expected = scenes.render_example(0, "validation", 3, 64, 96, scenes.SceneConfig())
  for k in builder_lib.FEATURES:
    np.testing.assert_array_equal(example[k], expected[k])


_BUILD_AND_READ = """
import sys
from ifan_jax.data import pipeline
pipeline.ensure_built('synthetic_dp/tiny', sys.argv[1])
first = next(pipeline.eval_iterator(dataset='synthetic_dp/tiny', data_dir=sys.argv[1]))
print('tensorflow' in sys.modules, first['name'])
"""


def test_building_and_reading_need_no_tensorflow(tmp_path):
  stdout, _ = subprocesses.run(_BUILD_AND_READ, str(tmp_path), hide_tensorflow=True)
  assert stdout.split()[-2:] == ["False", "test_00000"]
