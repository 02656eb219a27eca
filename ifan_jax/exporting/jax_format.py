"""The `jax` export format: a serialized `jax.export.Exported` of `forward.inference_function`.

It needs jax (and `flatbuffers` to deserialize) but not ifan_jax, Flax or the checkpoint: the
weights are constants of the program, and height and width are symbolic (any multiple of 8).
"""

import jax

from ifan_jax.exporting import forward

# Lowered for CPU and NVIDIA GPUs: the same file runs on either (`jax.export` picks the platform
# of the device it runs on).
DEFAULT_PLATFORMS = ("cpu", "cuda")
PLATFORMS = ("cpu", "cuda", "rocm", "tpu")  # What jax.export lowers for.


def check_platforms(platforms):
  """A ValueError naming what is not a platform of `PLATFORMS`: asked before the model loads, so that a
  typo never replaces a working artifact with one that cannot run."""
  unknown = [p for p in platforms if p not in PLATFORMS]
  if unknown or not platforms:
    raise ValueError(
      f"--platforms {','.join(platforms)}: {', '.join(map(repr, unknown)) or 'none given'}; "
      f"give one or more of {', '.join(PLATFORMS)}."
    )


def export(deblurrer, *, dtype="float32", platforms=DEFAULT_PLATFORMS) -> jax.export.Exported:
  """The deblurrer's inference as an `Exported` with symbolic `8*h x 8*w` inputs."""
  function = jax.jit(forward.inference_function(deblurrer, dtype))
  return jax.export.export(function, platforms=platforms)(*forward.input_specs(deblurrer.config))


def serialize(exported: jax.export.Exported) -> bytes:
  try:
    return bytes(exported.serialize())
  except ImportError as e:  # jax imports flatbuffers only when serializing.
    raise ImportError(f"Serializing a jax.export artifact needs flatbuffers: pip install flatbuffers ({e}).") from e
