"""Layers that must equal their PyTorch counterparts exactly."""

import jax
import numpy as np
import torch

from ifan_jax.models import layers


def test_upconv_equals_torch_conv_transpose():
  rng = np.random.default_rng(0)
  x = rng.standard_normal((2, 5, 7, 6)).astype(np.float32)
  weight = rng.standard_normal((6, 4, 4, 4)).astype(np.float32)  # (in, out, kh, kw)
  bias = rng.standard_normal(4).astype(np.float32)
  params = {"kernel": weight.transpose(2, 3, 0, 1), "bias": bias}
  ours = layers.UpConv(4).apply({"params": params}, x)
  conv = torch.nn.ConvTranspose2d(6, 4, 4, stride=2, padding=1)
  conv.weight.data, conv.bias.data = torch.from_numpy(weight), torch.from_numpy(bias)
  theirs = torch.nn.functional.leaky_relu(conv(torch.from_numpy(x.transpose(0, 3, 1, 2))), 0.1)
  np.testing.assert_allclose(ours, theirs.detach().numpy().transpose(0, 2, 3, 1), atol=1e-5)


def test_xavier_uniform_bound_matches_torch_formula():
  gain, fan_in, fan_out = 1.5, 64 * 9, 32 * 9
  w = layers.xavier_uniform(gain)(jax.random.key(0), (3, 3, 64, 32))
  bound = gain * np.sqrt(6 / (fan_in + fan_out))
  assert np.abs(w).max() <= bound
  assert np.abs(w).max() > 0.95 * bound
  np.testing.assert_allclose(np.std(w), bound / np.sqrt(3), rtol=0.05)


def test_resblock_adds_the_block_input_only_when_it_has_several_units():
  x = np.ones((1, 8, 8, 2), np.float32)
  for res_num in (1, 2):
    block = layers.ResBlock(res_num)
    params = jax.tree.map(np.zeros_like, block.init(jax.random.key(0), x))
    # With zero convolutions each unit is lrelu(x + 0) = x; a multi-unit block adds x once more.
    np.testing.assert_array_equal(block.apply(params, x), x * (2 if res_num > 1 else 1))
