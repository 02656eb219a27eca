"""Deblur numpy images of any size with a trained or converted IFAN: the one inference path.

The command line, evaluation, validation during training and the server all deblur through `Deblurrer`.
"""

import collections
import functools

import jax
import jax.numpy as jnp
import numpy as np

from ifan_jax.models import IFAN, SIZE_MULTIPLE, IFANConfig
from ifan_jax.saved_models import any_model


@functools.cache
def _compiled_forward(config: IFANConfig):
  """IFAN's inference for `config`, jitted once per config (then once per input shape)."""
  return jax.jit(IFAN(config).apply)


class _RecentShapes:
  """IFAN's inference compiled for the `limit` input shapes used last; the least recently used goes.

  `jax.jit` keeps every shape it compiled, and more than the executable: the traces and lowerings
  behind it, about 18 MB per shape of the default model on CPU, which a server that meets every size
  there is would hold forever. Here each executable is compiled explicitly (`lower().compile()`) and
  kept in order of use; evicting one also clears JAX's caches (`jax.clear_caches`, which the kept
  executables survive), the only way to free those traces. That is global: a process that also trains
  would recompile its step, so only the server bounds its shapes.
  """

  def __init__(self, config: IFANConfig, limit: int):
    self._jitted, self._limit = _compiled_forward(config), limit
    self._compiled = collections.OrderedDict()

  def __len__(self) -> int:
    return len(self._compiled)

  def __call__(self, variables, image, *, left=None, right=None):
    key = tuple(None if x is None else x.shape for x in (image, left, right))
    compiled = self._compiled.pop(key, None)
    if compiled is None:
      compiled = self._jitted.lower(variables, image, left=left, right=right).compile()
    self._compiled[key] = compiled
    if len(self._compiled) > self._limit:
      self._compiled.popitem(last=False)
      jax.clear_caches()
    return compiled(variables, image, left=left, right=right)


def pad_to_multiple(image: np.ndarray, multiple: int = SIZE_MULTIPLE) -> np.ndarray:
  """Pads `[H, W, C]` at the bottom and right by edge replication to multiples of `multiple`."""
  h, w = image.shape[:2]
  return np.pad(image, ((0, -h % multiple), (0, -w % multiple), (0, 0)), mode="edge")


class Deblurrer:
  """IFAN inference on `H x W x 3` float32 images in [0, 1]; compiled once per input shape.

  >>> deblurrer = Deblurrer.from_checkpoint("checkpoints/ifan")
  >>> sharp = deblurrer(blurred)                 # single image
  >>> sharp = deblurrer(blurred, left=L, right=R)  # dual-pixel variant

  `compiled_shapes`: keep the executables of that many input shapes only (the least recently used
  goes, see `_RecentShapes`); None keeps every shape, shared by every Deblurrer of the same config.
  """

  def __init__(self, config: IFANConfig, params, *, compiled_shapes: int | None = None):
    self.config = config
    self.variables = {"params": jax.tree.map(jnp.asarray, params)}
    if compiled_shapes is None:
      self._forward = _compiled_forward(config)
    else:
      self._forward = _RecentShapes(config, compiled_shapes)

  @classmethod
  def from_checkpoint(cls, path, **options) -> "Deblurrer":
    """Loads a model directory (ours or `python -m ifan_jax.convert`'s), an official `.pytorch` file, or
    a training workdir (its latest checkpoint; `WORKDIR/best` for the best by validation PSNR).

    A relative `path` is resolved once, for every loader (orbax refuses relative paths). `options`:
    those of the constructor."""
    model = any_model.load(path)
    return cls(model.config, model.network, **options)

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
      left=batch(left) if self.config.dual_pixel else None,
      right=batch(right) if self.config.dual_pixel else None,
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
