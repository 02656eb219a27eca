"""The `jax` export format: a serialized `jax.export.Exported` of `forward.inference_function`.

It needs jax (and `flatbuffers` to deserialize) but not ifan_jax, Flax or the checkpoint: the
weights are constants of the program, and height and width are symbolic (any multiple of 8).
"""

import jax

from ifan_jax.exporting import forward

# Lowered for CPU and NVIDIA GPUs: the same file runs on either (`jax.export` picks the platform
# of the device it runs on).
DEFAULT_PLATFORMS = ("cpu", "cuda")


def export(deblurrer, *, dtype="float32", platforms=DEFAULT_PLATFORMS) -> jax.export.Exported:
  """The deblurrer's inference as an `Exported` with symbolic `8*h x 8*w` inputs."""
  function = jax.jit(forward.inference_function(deblurrer, dtype))
  return jax.export.export(function, platforms=platforms)(*forward.input_specs(deblurrer.config))


def serialize(exported: jax.export.Exported) -> bytes:
  try:
    return bytes(exported.serialize())
  except ImportError as e:  # jax imports flatbuffers only when serializing.
    raise ImportError(f"Serializing a jax.export artifact needs flatbuffers: pip install flatbuffers ({e}).") from e
