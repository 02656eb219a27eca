"""Deblur numpy images of any size with a trained or converted IFAN: the one inference path.

The command line, evaluation and validation during training all deblur through `Deblurrer`.
"""

import functools

import jax
import jax.numpy as jnp
import numpy as np

from ifan_jax.io import any_model
from ifan_jax.models import IFAN, SIZE_MULTIPLE, IFANConfig


@functools.cache
def _compiled_forward(config: IFANConfig):
  """IFAN's inference for `config`, jitted once per config (then once per input shape)."""
  return jax.jit(IFAN(config).apply)


def pad_to_multiple(image: np.ndarray, multiple: int = SIZE_MULTIPLE) -> np.ndarray:
  """Pads `[H, W, C]` at the bottom and right by edge replication to multiples of `multiple`."""
  h, w = image.shape[:2]
  return np.pad(image, ((0, -h % multiple), (0, -w % multiple), (0, 0)), mode="edge")


class Deblurrer:
  """IFAN inference on `H x W x 3` float32 images in [0, 1]; compiled once per input shape.

  >>> deblurrer = Deblurrer.from_checkpoint("checkpoints/ifan")
  >>> sharp = deblurrer(blurred)                 # single image
  >>> sharp = deblurrer(blurred, left=L, right=R)  # dual-pixel variant
  """

  def __init__(self, config: IFANConfig, params):
    self.config = config
    self.variables = {"params": jax.tree.map(jnp.asarray, params)}
    self._forward = _compiled_forward(config)

  @classmethod
  def from_checkpoint(cls, path) -> "Deblurrer":
    """Loads a model directory (ours or `python -m ifan_jax.convert`'s), an official `.pytorch` file, or
    a training workdir (its latest checkpoint; `WORKDIR/best` for the best by validation PSNR).

    A relative `path` is resolved once, for every loader (orbax refuses relative paths)."""
    model = any_model.load(path)
    return cls(model.config, model.network)

  def predict(self, image, left=None, right=None) -> dict[str, np.ndarray]:
    """Returns `result` (`H x W x 3`) and `disparity` (`ceil(H/8) x ceil(W/8)`), float32."""
    image = self._check(image, "image")
    if self.config.dual_pixel:
      if left is None or right is None:
        raise ValueError("This is the dual-pixel IFAN: pass left= and right= views as well.")
      left, right = self._check(left, "left", image.shape), self._check(right, "right", image.shape)
    h, w = image.shape[:2]

    def batch(x):
      return None if x is None else jnp.asarray(pad_to_multiple(x))[None]

    outputs = self._forward(
      self.variables,
      batch(image),
      batch(right) if self.config.dual_pixel else None,
      batch(left) if self.config.dual_pixel else None,
    )
    return {
      "result": np.asarray(outputs["result"][0, :h, :w]),
      "disparity": np.asarray(outputs["disparity"][0, : -(-h // SIZE_MULTIPLE), : -(-w // SIZE_MULTIPLE), 0]),
    }

  def __call__(self, image, left=None, right=None) -> np.ndarray:
    return self.predict(image, left=left, right=right)["result"]

  @staticmethod
  def _check(x, name, shape=None):
    x = np.asarray(x, dtype=np.float32)
    if x.ndim != 3 or x.shape[-1] != 3:
      raise ValueError(f"{name} must be H x W x 3, got shape {x.shape}.")
    if shape is not None and x.shape != shape:
      raise ValueError(f"{name} has shape {x.shape} but the blurred image has {shape}.")
    return x
