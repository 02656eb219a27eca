"""The function every exported model computes, defined once for every format.

Inputs are `[1, 8h, 8w, 3]` float32 in [0, 1] (`image`, and `left`, `right` for the dual-pixel
model); outputs are `result` (`[1, 8h, 8w, 3]`) and `disparity` (`[1, h, w, 1]`), float32 whatever
the compute dtype. Any other size is padded first, as `Deblurrer` pads (bottom and right, by
edge replication), and the result cropped back.
"""

import jax
import jax.numpy as jnp

from ifan_jax.inference.deblurrer import Deblurrer
from ifan_jax.models import IFAN, SIZE_MULTIPLE

# Height and width as multiples of 8, symbolic: one artifact for every image size.
SYMBOLIC_SIZE = f"{SIZE_MULTIPLE}*h, {SIZE_MULTIPLE}*w"
OUTPUT_NAMES = ("result", "disparity")
DTYPES = ("float32", "bfloat16")


def input_names(config) -> tuple[str, ...]:
  return ("image", "left", "right") if config.dual_pixel else ("image",)


def check_dtype(dtype):
  if dtype not in DTYPES:
    raise ValueError(f"Unknown export dtype {dtype!r}; expected one of {', '.join(DTYPES)}.")


def inference_function(deblurrer: Deblurrer, dtype="float32"):
  """`f(*inputs) -> (result, disparity)` with the deblurrer's weights baked in, computing in `dtype`."""
  check_dtype(dtype)
  config = deblurrer.config.replace(dtype=dtype)
  model, variables = IFAN(config), deblurrer.variables

  def forward(image, left=None, right=None):
    outputs = model.apply(variables, image, left=left, right=right)
    return tuple(outputs[name].astype(jnp.float32) for name in OUTPUT_NAMES)

  return forward


def input_specs(config):
  """`jax.ShapeDtypeStruct`s of the inputs, `[1, 8*h, 8*w, 3]` float32 with h and w symbolic."""
  shape = jax.export.symbolic_shape(f"1, {SYMBOLIC_SIZE}, 3")
  return [jax.ShapeDtypeStruct(shape, jnp.float32) for _ in input_names(config)]
