"""What a computation must cost, to hold a measured time against: device peaks, MACs, the IAC's bytes.

Flag-free, so that every benchmark script (and the GPU suite's parts) shares one definition.
"""

import jax
import jax.extend.core as jax_core
import numpy as np

from ifan_jax import ops

# Data-sheet memory bandwidth (GB/s), keyed by a substring of `device_kind` ("NVIDIA H200", "NVIDIA H100 80GB
# HBM3"). The suite also measures a device-to-device copy, the bandwidth a kernel can reach in practice.
PEAK_GBS = {"H200": 4800.0, "H100": 3350.0, "A100": 2039.0}


def peak_gbs(device_kind):
  """The data-sheet bandwidth of a device, or None for a device not in PEAK_GBS (a CPU, say)."""
  return next((gbs for name, gbs in PEAK_GBS.items() if name in device_kind), None)


def iac_ideal_bytes(shape, iterations, filter_size, itemsize, *, backward):
  """Bytes an ideal IAC must move for features of `shape` (B, H, W, C), all filter channels read once.

  The forward reads the features and the filters and writes the output (2C + F values per pixel,
  F = N*(2Ck) + N*C); forward+backward adds a backward that reads the filters, the features and the
  output's gradient and writes the gradients of both (2F + 3C).
  """
  b, h, w, c = shape
  f = ops.FilterLayout(c, iterations, filter_size).total
  per_pixel = 2 * c + f + (2 * f + 3 * c if backward else 0)
  return b * h * w * itemsize * per_pixel


def count_macs(fn, *args):
  """Multiply-accumulates of every convolution and matrix product in `fn`'s jaxpr (scan bodies x length)."""

  def walk(jaxpr, times):
    total = 0
    for eqn in jaxpr.eqns:
      if eqn.primitive.name == "conv_general_dilated":
        rhs = eqn.invars[1].aval.shape
        out = eqn.outvars[0].aval.shape
        out_features = rhs[eqn.params["dimension_numbers"].rhs_spec[0]]
        total += np.prod(out) * np.prod(rhs) // out_features
      elif eqn.primitive.name == "dot_general":
        (contract, _), _ = eqn.params["dimension_numbers"]
        lhs = eqn.invars[0].aval.shape
        total += np.prod(eqn.outvars[0].aval.shape) * np.prod([lhs[d] for d in contract])
      for sub in jax_core.jaxprs_in_params(eqn.params):
        total += walk(sub, eqn.params.get("length", 1))
    return total * times

  return int(walk(jax.make_jaxpr(fn)(*args).jaxpr, 1))
