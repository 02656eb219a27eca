"""The `onnx` export format: `forward.inference_function` converted by jax2onnx, for onnxruntime.

jax2onnx 0.17.1 converts IFAN's graph as we run it, but the file it writes is wrong in two places
(found by converting the model's parts one at a time, `docs/user_guide.md` section 9):

- the IAC's replicate padding, `jnp.pad(mode="edge")`, which concatenates a zero-width block on
  every axis it does not pad; jax2onnx emits those as ONNX `Reshape`s to a shape holding 0, which
  ONNX reads as "copy this dimension" (no `allowzero`), so the `Concat` after them gets blocks of
  width 1 and onnxruntime rejects the model ("Concat ... Inferred=3 Declared=1");
- the sub-pixel convolutions' phase selection, `y[:, ry:ry + h, rx:rx + w, ry, rx]`, which jnp
  lowers to a `gather` once h and w are symbolic; jax2onnx's gather needs constant slice sizes.

So the conversion runs the model with two export-only replacements, through Flax method
interceptors (the model's own code is unchanged): the IAC pads by concatenating edge slices along
the padded axis only, and `UpConv` selects its phases with `lax.slice`. Both compute the same
values (the tests compare the ONNX model with `Deblurrer`). A graph output produced directly by
a convolution also loses its producer in jax2onnx's layout pass ("Graph output ... does not exist"),
hence the `+ 0` on the outputs.
"""

import flax.linen as nn
from jax import lax

from ifan_jax.exporting import forward
from ifan_jax.models import layers
from ifan_jax.models.ifan import FilterPredictor
from ifan_jax.ops.activation import leaky_relu
from ifan_jax.ops.iac.layout import FilterLayout
from ifan_jax.ops.iac.xla import fused_head_scan

JAX2ONNX_VERSION = "0.17.1"
# jax2onnx defaults to opset 23; 21 holds every op IFAN needs (the tests run it), and onnxruntime has run it since 1.18.
OPSET = 21
_INSTALL = (
  f"pip install onnx onnx-ir onnxruntime && pip install --no-deps jax2onnx=={JAX2ONNX_VERSION} "
  "(--no-deps: jax2onnx pins orbax-checkpoint<0.11.37, which it does not import, against our >=0.12)"
)


def _edge_pad(x, pad, axis):
  """`jnp.pad(x, ..., mode="edge")` along `axis` only: edge slices concatenated, no zero-width blocks."""
  size = x.shape[axis]
  first, last = lax.slice_in_dim(x, 0, 1, axis=axis), lax.slice_in_dim(x, size - 1, size, axis=axis)
  return lax.concatenate([first] * pad + [x] + [last] * pad, axis)


def _filter_1d(x, taps, axis):
  """`ops.iac.reference._filter_1d` with `_edge_pad`: the k-tap pass along `axis`, `taps` `[..., k, C]`."""
  k, size = taps.shape[-2], x.shape[axis]
  padded = _edge_pad(x, (k - 1) // 2, axis)
  out = lax.slice_in_dim(padded, 0, size, axis=axis) * taps[..., 0, :]
  for t in range(1, k):
    out += lax.slice_in_dim(padded, t, t + size, axis=axis) * taps[..., t, :]
  return out


def _fused_iac(predictor: FilterPredictor, image_features, features):
  """`FilterPredictor.fused_iac` (the inference IAC, head fused) with `_filter_1d`'s padding."""
  cfg = predictor.config
  head = predictor.variables["params"]["head"]
  layout = FilterLayout(image_features.shape[-1], cfg.iterations, cfg.filter_size)
  weights, biases = layout.head_iteration_major(
    head["kernel"][0, 0].astype(features.dtype), head["bias"].astype(features.dtype), cfg.iac_compat
  )

  def step(x, slab, act):
    vertical, horizontal, bias = layout.head_passes(slab, cfg.iac_compat)
    x = _filter_1d(_filter_1d(x, vertical, axis=1), horizontal, axis=2) + bias
    return leaky_relu(x) if act else x

  return fused_head_scan(
    image_features, features, layout, weights, biases, compat=cfg.iac_compat, act_last=True, step=step
  )


def _upconv(module: layers.UpConv, x):
  """`UpConv.__call__` whose four sub-pixel phases are cut with `lax.slice` (no gather at symbolic sizes)."""
  params = module.variables["params"]
  y = layers.upconv_phases(x, params["kernel"], module.dtype)
  b, h, w = x.shape[:3]
  features = module.features
  phases = [
    lax.slice(y, (0, ry, rx, ry, rx, 0), (b, ry + h, rx + w, ry + 1, rx + 1, features)).reshape(b, h, w, features)
    for ry in range(2)
    for rx in range(2)
  ]
  return layers.interleave_phases(phases, params["bias"])


def _export_friendly(next_fun, args, kwargs, context):
  """Flax interceptor: the two replacements above, every other method as it is."""
  if isinstance(context.module, layers.UpConv) and context.method_name == "__call__":
    return _upconv(context.module, *args)
  if isinstance(context.module, FilterPredictor) and context.method_name == "fused_iac":
    return _fused_iac(context.module, *args)
  return next_fun(*args, **kwargs)


def onnx_function(deblurrer):
  """`forward.inference_function` (float32) as jax2onnx converts it correctly."""
  if not deblurrer.config.fuse_filter_head:
    raise ValueError("ONNX export runs the inference IAC with the fused filter head: set fuse_filter_head=True.")
  function = forward.inference_function(deblurrer)

  def onnx_forward(*inputs):
    with nn.intercept_methods(_export_friendly):
      return tuple(output + 0 for output in function(*inputs))

  return onnx_forward


def export(deblurrer) -> bytes:
  """The deblurrer as a serialized ONNX model with inputs `[1, 8h, 8w, 3]` (h, w dynamic)."""
  try:
    from jax2onnx import to_onnx  # pylint: disable=import-outside-toplevel
  except ImportError as e:
    raise ImportError(f"--format onnx needs jax2onnx: {_INSTALL}. ({e})") from e
  config = deblurrer.config
  model = to_onnx(
    onnx_function(deblurrer),
    forward.input_specs(config),
    input_names=list(forward.input_names(config)),
    output_names=list(forward.OUTPUT_NAMES),
    opset=OPSET,
    return_mode="proto",
  )
  return model.SerializeToString()
