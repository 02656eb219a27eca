"""IAC op: golden parity with the reference code, XLA == reference, fused head, gradients, errors."""

import functools
import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads

from ifan_jax import ops
from tests.conftest import load_npz

MODES = {
  "out_compat": dict(compat=True, act_last=True),
  "out_compat_noact": dict(compat=True, act_last=False),
  "out_fixed": dict(compat=False, act_last=True),
}


def _golden_cases(golden_dir):
  data = load_npz(golden_dir / "iac_io.npz")
  for tag in sorted({k.rsplit("_", 1)[0] for k in data if k.endswith("_features")}):
    n, k = map(int, re.search(r"_N(\d+)_k(\d+)", tag).groups())
    yield tag, n, k, data


@pytest.mark.parametrize("impl", ["xla", "reference"])
@pytest.mark.parametrize("mode", sorted(MODES))
def test_matches_golden(golden_dir, impl, mode):
  for tag, n, k, data in _golden_cases(golden_dir):
    out = ops.iac(
      data[f"{tag}_features"], data[f"{tag}_filters"], iterations=n, filter_size=k, impl=impl, **MODES[mode]
    )
    # Measured: at most 4.8e-7 (compat) and 9.5e-7 (corrected), both implementations.
    np.testing.assert_allclose(out, data[f"{tag}_{mode}"], rtol=0, atol=1e-5, err_msg=tag)


def _random_inputs(key, b=1, h=5, w=6, c=2, n=3, k=3):
  kf, kk = jax.random.split(key)
  features = jax.random.normal(kf, (b, h, w, c))
  filters = 0.5 * jax.random.normal(kk, (b, h, w, ops.FilterLayout(c, n, k).total))
  return features, filters


@pytest.mark.parametrize("compat", [False, True])
@pytest.mark.parametrize("k", [1, 3, 5])
def test_xla_matches_reference(compat, k):
  features, filters = _random_inputs(jax.random.key(k), b=2, h=7, w=9, c=3, n=4, k=k)
  kwargs = dict(iterations=4, filter_size=k, compat=compat)
  np.testing.assert_allclose(
    ops.iac(features, filters, impl="xla", **kwargs), ops.iac_reference(features, filters, **kwargs), atol=1e-5
  )


def test_single_iteration_matches_reference():
  features, filters = _random_inputs(jax.random.key(0), n=1)
  np.testing.assert_allclose(
    ops.iac(features, filters, iterations=1, filter_size=3),
    ops.iac_reference(features, filters, iterations=1, filter_size=3),
    atol=1e-6,
  )


@pytest.mark.parametrize("compat", [False, True])
def test_fused_head_matches_materialised_filters(compat):
  n, k, c, d = 3, 5, 4, 6
  keys = jax.random.split(jax.random.key(1), 4)
  features = jax.random.normal(keys[0], (2, 6, 7, c))
  predictor_features = jax.random.normal(keys[1], (2, 6, 7, d))
  kernel = 0.1 * jax.random.normal(keys[2], (d, ops.FilterLayout(c, n, k).total))
  bias = 0.1 * jax.random.normal(keys[3], (ops.FilterLayout(c, n, k).total,))
  kwargs = dict(iterations=n, filter_size=k, compat=compat)
  np.testing.assert_allclose(
    ops.iac_fused(features, predictor_features, kernel, bias, **kwargs),
    ops.iac(features, predictor_features @ kernel + bias, **kwargs),
    atol=1e-5,
  )


@pytest.mark.parametrize("compat", [False, True])
def test_gradients_are_correct(compat):
  features, filters = _random_inputs(jax.random.key(2), h=4, w=5, c=2, n=2, k=3)
  f = lambda x, y: ops.iac(x, y, iterations=2, filter_size=3, compat=compat)
  check_grads(f, (features, filters), order=1, modes=["rev"], atol=1e-2, rtol=1e-2)


def test_compiled_program_does_not_grow_with_iterations():
  def size(n):
    features, filters = _random_inputs(jax.random.key(0), n=n)
    jaxpr = jax.make_jaxpr(lambda a, b: ops.iac(a, b, iterations=n, filter_size=3))(features, filters)
    return len(str(jaxpr).splitlines())

  assert size(3) == size(44)


@pytest.mark.parametrize(
  "change, message",
  [
    (dict(filter_size=4), "positive odd"),
    (dict(iterations=0), "at least 1"),
    (dict(iterations=5), "N=5, k=3 and C=2 need"),
  ],
)
def test_bad_arguments_are_explained(change, message):
  features, filters = _random_inputs(jax.random.key(0))
  kwargs = dict(iterations=3, filter_size=3) | change
  with pytest.raises(ValueError, match=message):
    ops.iac(features, filters, **kwargs)


def test_mismatched_sizes_are_explained():
  features, filters = _random_inputs(jax.random.key(0))
  with pytest.raises(ValueError, match="differ in batch or size"):
    ops.iac(features[:, :4], filters, iterations=3, filter_size=3)
  with pytest.raises(ValueError, match="Unknown IAC impl"):
    ops.iac(features, filters, iterations=3, filter_size=3, impl="cuda")


def test_iteration_major_split_is_the_reference_layout():
  c, k, n = 2, 3, 2
  layout = ops.FilterLayout(c, n, k)
  filters = jnp.arange(layout.total, dtype=jnp.float32)[None, None, None]
  kernels, biases = layout.split_iteration_major(filters)
  # Iteration 1, horizontal kernel, tap 2 of channel 1: channel 1*2Ck + Ck + 1*k + 2.
  assert kernels[1, 0, 0, 0, 1, 2, 1] == 1 * 2 * c * k + c * k + 1 * k + 2
  assert biases[1, 0, 0, 0, 1] == n * 2 * c * k + 1 * c + 1


@pytest.mark.parametrize("compat", [False, True])
def test_addressing_reads_what_passes_and_head_passes_read(compat):
  layout = ops.FilterLayout(channels=3, iterations=2, filter_size=5)
  filters = jnp.arange(layout.total, dtype=jnp.float32)
  kernel = jnp.eye(layout.total)  # A head that copies its input: its columns are the filter channels.
  weights, biases = layout.head_iteration_major(kernel, jnp.zeros(layout.total), compat)
  by_address, head_address = layout.addressing(compat), layout.head_addressing(compat)
  for i in range(layout.iterations):
    vertical, horizontal, bias = layout.passes(filters, i, compat)
    head = layout.head_passes(filters @ weights[i], compat)
    for t in range(layout.filter_size):
      for c in range(layout.channels):
        column = i * by_address.iteration_stride + c * by_address.channel_stride + t * by_address.tap_stride
        assert vertical[t, c] == head[0][t, c] == column
        assert horizontal[t, c] == head[1][t, c] == column + by_address.horizontal_offset
        head_column = c * head_address.channel_stride + t * head_address.tap_stride
        assert (filters @ weights[i])[head_column] == column
        assert (filters @ weights[i])[head_column + head_address.horizontal_offset] == horizontal[t, c]
    for c in range(layout.channels):
      assert bias[c] == head[2][c] == by_address.bias_offset + i * by_address.bias_iteration_stride + c
      assert (filters @ weights[i])[head_address.bias_offset + c] == bias[c]


def test_iterations_are_recovered_from_the_channel_count():
  assert ops.FilterLayout.from_total(15232, channels=128, filter_size=3) == ops.FilterLayout(128, 17, 3)
  with pytest.raises(ValueError, match=r"F.3 has 1000 channels, not a multiple of C\*\(2k\+1\) = 896"):
    ops.FilterLayout.from_total(1000, channels=128, filter_size=3, what="F.3")


def _official_gradient_cases(golden_dir):
  data = load_npz(golden_dir / "iac_gradients.npz")
  for tag in sorted({k.rsplit("_features", 1)[0] for k in data if k.endswith("_features") and "grad" not in k}):
    n, k, act = map(int, re.search(r"_N(\d+)_k(\d+)_act(\d)", tag).groups())
    yield tag, dict(iterations=n, filter_size=k, compat=True, act_last=bool(act)), data


@pytest.mark.parametrize("impl", ["xla", "reference"])
def test_gradients_match_the_official_iac_by_torch_autograd(golden_dir, impl):
  """The official IAC's gradients (tests/fixtures/golden/make_iac_gradients.py, torch autograd) against
  our vjp of the published (compat) op: not only against our own reference."""
  for tag, kwargs, data in _official_gradient_cases(golden_dir):
    iac = functools.partial(ops.iac, impl=impl, **kwargs)
    out, vjp = jax.vjp(iac, data[f"{tag}_features"], data[f"{tag}_filters"])
    grad_features, grad_filters = vjp(jnp.asarray(data[f"{tag}_cotangent"]))
    for name, ours in (("out", out), ("grad_features", grad_features), ("grad_filters", grad_filters)):
      # Measured: at most 2.8e-7 of the array's largest value (3.8e-6 on filter gradients up to 26).
      scale = np.abs(data[f"{tag}_{name}"]).max()
      np.testing.assert_allclose(ours, data[f"{tag}_{name}"], rtol=0, atol=2e-6 * scale, err_msg=f"{tag} {name}")
