"""IFAN modules: parameter counts, outputs per mode, initialisation, input checks."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ifan_jax.models import IFAN, IFANConfig, IFANWithReblur
from ifan_jax.models.ifan import FilterPredictor
from tests.conftest import TINY_CONFIG, module_xavier_params, xavier_params

TINY = TINY_CONFIG


def _count(tree):
  return sum(x.size for x in jax.tree.leaves(tree))


def _abstract_params(config):
  x = jnp.zeros((1, 16, 16, 3))
  return jax.eval_shape(lambda: IFANWithReblur(config).init(jax.random.key(0), x, sharp=x, left=x, right=x))["params"]


@pytest.mark.parametrize("dual, network", [(False, 10_476_996), (True, 10_477_860)])
def test_parameter_counts_of_the_paper(dual, network):
  params = _abstract_params(IFANConfig(dual_pixel=dual))
  assert _count(params["network"]) == network
  assert _count(params["reblur"]) == 19_139_685


@pytest.mark.parametrize("n", [8, 26, 44])
def test_official_iteration_counts_build(n):
  params = _abstract_params(IFANConfig(iterations=n))
  assert params["network"]["filter_predictor"]["head"]["kernel"].shape == (1, 1, 128, n * (128 * 7))


def _images(key, h=16, w=24):
  return [jax.random.uniform(k, (2, h, w, 3)) for k in jax.random.split(key, 4)]


def test_training_outputs_have_the_shapes_the_losses_need():
  blurred, right, left, sharp = _images(jax.random.key(0))
  model = IFANWithReblur(TINY)
  params = module_xavier_params(model, blurred, sharp, left=left, right=right)
  out = jax.jit(model.apply)({"params": params}, blurred, sharp, left=left, right=right)
  assert out["result"].shape == blurred.shape
  assert out["filters"].shape == (2, 2, 3, TINY.filter_channels)
  for name in ("disparity", "disparity_right"):
    assert out[name].shape == (2, 2, 3, 1)
  for name in ("right_warped", "left_down", "reblurred"):
    assert out[name].shape == (2, 2, 3, 3)


def test_training_without_views_reads_the_blurred_image_alone():
  blurred, right, left, sharp = _images(jax.random.key(1))
  model = IFANWithReblur(TINY)
  params = module_xavier_params(model, blurred, sharp, left=left, right=right)
  apply = jax.jit(model.apply)
  alone, with_views = (
    apply({"params": params}, blurred, sharp),
    apply({"params": params}, blurred, sharp, left=left, right=right),
  )
  assert set(alone) == {"disparity", "filters", "result", "reblurred"}
  for name in alone:
    np.testing.assert_allclose(alone[name], with_views[name], atol=1e-6)
  with pytest.raises(ValueError, match="both dual-pixel views .* or neither"):
    IFAN(TINY).apply({"params": params["network"]}, blurred, right=right, train=True)
  with pytest.raises(ValueError, match="The dual-pixel IFAN needs the right and left views"):
    IFAN(TINY.replace(dual_pixel=True)).init(jax.random.key(0), blurred, train=True)


def test_inference_clips_and_training_does_not():
  blurred, right, left, _ = _images(jax.random.key(2))
  model = IFAN(TINY)
  variables = {"params": xavier_params(TINY)}
  # Scale the output conv so that the residual certainly leaves [0, 1].
  variables = jax.tree_util.tree_map_with_path(
    lambda p, v: v * 100 if "out_res" in jax.tree_util.keystr(p) else v, variables
  )
  apply = jax.jit(model.apply, static_argnames="train")
  raw = apply(variables, blurred, left=left, right=right, train=True)["result"]
  clipped = apply(variables, blurred)["result"]
  assert raw.min() < 0 or raw.max() > 1
  np.testing.assert_allclose(clipped, jnp.clip(raw, 0, 1), atol=1e-5)


def test_fused_and_materialised_filter_heads_agree():
  blurred = _images(jax.random.key(4))[0]
  variables = {"params": xavier_params(TINY)}
  fused = jax.jit(IFAN(TINY).apply)(variables, blurred)["result"]
  unfused = jax.jit(IFAN(TINY.replace(fuse_filter_head=False)).apply)(variables, blurred)["result"]
  np.testing.assert_allclose(fused, unfused, atol=1e-5)


def test_filter_predictor_uses_its_own_init_gain():
  predictor = FilterPredictor(TINY.replace(filter_init_gain=3.0))
  params = predictor.init(jax.random.key(0), jnp.zeros((1, 2, 2, TINY.ch4)), method=lambda m, x: m.filters(m(x)))[
    "params"
  ]
  head = params["head"]["kernel"]
  bound = 3.0 * np.sqrt(6 / (head.shape[2] + head.shape[3]))
  assert bound * 0.9 < np.abs(head).max() <= bound
  assert not np.any(params["head"]["bias"])
  trunk = params["trunk"]["conv_in"]["conv"]["kernel"]
  assert np.abs(trunk).max() > 1.5 * np.sqrt(6 / (9 * 2 * TINY.ch4))  # Above the gain-1 bound.


def test_sizes_that_are_not_multiples_of_8_are_rejected_with_the_shape():
  with pytest.raises(ValueError, match=r"multiples of 8, got shape \(1, 20, 16, 3\)"):
    IFAN(TINY).init(jax.random.key(0), jnp.zeros((1, 20, 16, 3)))


def test_dual_pixel_variant_needs_both_views():
  with pytest.raises(ValueError, match="right and left views"):
    IFAN(TINY.replace(dual_pixel=True)).init(jax.random.key(0), jnp.zeros((1, 16, 16, 3)))


def test_config_rejects_even_filter_sizes_and_unknown_fields():
  with pytest.raises(ValueError, match="filter_size must be odd"):
    IFANConfig(filter_size=4)
  with pytest.raises(ValueError, match=r"Unknown IFANConfig fields \['Fs'\]"):
    IFANConfig.from_dict({"Fs": 3})
