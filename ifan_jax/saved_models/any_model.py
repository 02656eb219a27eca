"""Any trained IFAN a path can name: a model directory, an official `.pytorch` file, or a training workdir.

Inference (`Deblurrer.from_checkpoint`) and fine-tuning (`config.init_from`) read models through here.
"""

import dataclasses
from typing import Any

import jax
import numpy as np

from ifan_jax.io.paths import absolute
from ifan_jax.models import IFANConfig
from ifan_jax.saved_models import model_dir, run_dir

# What a command's --checkpoint may name: the paths `load` takes.
CHECKPOINT_HELP = (
  "Model directory (ours or `python -m ifan_jax.convert`'s), an official .pytorch file or a training workdir."
)


@dataclasses.dataclass(frozen=True)
class Model:
  """A model's config and parameters; `reblur`: the reblurring network's, where the source has them."""

  config: IFANConfig
  network: Any
  reblur: Any | None
  path: str


def load(path, *, filter_size=None, reblur_filter_size=None, in_bit=None) -> Model:
  """The model at `path`: a model directory (ours or `python -m ifan_jax.convert`'s), an official
  `.pytorch` file (converted on the fly), or a training workdir (its latest checkpoint; `WORKDIR/best`
  for the best by validation PSNR).

  `filter_size`, `reblur_filter_size` and `in_bit` are for a `.pytorch` file, whose shapes do not tell
  them (None: the official models', `torch_weights.OFFICIAL`). A relative `path` is resolved here, once. A model
  whose parameters are not all finite (a diverged run) is a ValueError: it would deblur to black.
  """
  model = _load(absolute(path), filter_size, reblur_filter_size, in_bit)
  if not all(np.isfinite(leaf).all() for leaf in jax.tree.leaves(model.network)):
    raise ValueError(
      f"{model.path}: the model's parameters hold NaN or infinite values (a training run that diverged?), "
      "so every result would be black: use an earlier checkpoint."
    )
  return model


def _load(path, filter_size, reblur_filter_size, in_bit) -> Model:
  if path.suffix == ".pytorch":
    from ifan_jax.saved_models import torch_weights  # pylint: disable=import-outside-toplevel

    state = torch_weights.load_state_dict(path)
    given = {"filter_size": filter_size, "reblur_filter_size": reblur_filter_size, "in_bit": in_bit}
    config, network, reblur = torch_weights.convert_state_dict(
      state, **{name: value for name, value in given.items() if value is not None}
    )
    return Model(config, network, reblur, str(path))
  if not path.exists():
    raise FileNotFoundError(f"No checkpoint at {path}.")
  if run_dir.training_run_dir(path) is not None:
    return Model(*run_dir.load_trained_model(path, with_reblur=True), str(path))
  if not model_dir.is_model_dir(path):
    raise FileNotFoundError(
      f"{path} holds no ifan_jax model ({model_dir.CONFIG_FILE} and {model_dir.PARAMS_DIR}/) and no "
      "training checkpoint; convert official weights with `python -m ifan_jax.convert SRC.pytorch DST_DIR`."
    )
  return Model(*model_dir.load_model(path, with_reblur=True), str(path))
