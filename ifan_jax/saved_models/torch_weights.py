"""Official IFAN `.pytorch` checkpoints as ifan_jax parameters: the library behind `python -m ifan_jax.convert`.

It defines no absl flags, so programs with flags of their own can import it. The state
dict's keys (`module.Network.*`, `module.reblurNet.*`, with or without the prefixes) are
mapped onto our parameter tree; the dual-pixel variant, N, the width and res_num are
read from the tensor shapes. The IAC filter size cannot be told from
shapes (N*(2k+1) is all they show), so it is an argument (3 in every official checkpoint).
The written config has `iac_compat=True`: the published weights were trained with it.
"""

import os
import pickle
import re
from collections.abc import Mapping

import jax
import jax.numpy as jnp
import numpy as np
from etils import epath
from flax import traverse_util

from ifan_jax.models import SIZE_MULTIPLE, IFANConfig, IFANWithReblur
from ifan_jax.ops import FilterLayout
from ifan_jax.saved_models import model_dir

# What a checkpoint's shapes do not tell (the filter sizes, the bit depth) is, unless given, that of the
# official models, which are IFANConfig's defaults.
OFFICIAL = IFANConfig()

# Sequential stacks of the reference (conv, residual blocks, conv) and our trunk names.
_TRUNKS = {
  "DME": "disparity_estimator",
  "conv4_4": "filter_features",
  "F": "filter_predictor/trunk",
  "conv_res": "reconstructor_in",
  "RBF": "trunk",
}
_ENCODERS = {"conv": "feature_extractor", "kconv": "filter_encoder"}
_PREFIX = re.compile(r"^(module\.)?(Network\.|reblurNet\.)?")


class CheckpointMismatch(ValueError):
  """The state dict does not fit the model: lists every unknown, missing or mis-shaped key."""


def _trunk_path(trunk, index, rest):
  """Our module path for `<trunk>.<index>.<rest>`; the last index is the output conv."""
  last = {"DME": 3, "conv4_4": 3, "F": 3, "conv_res": 2, "RBF": 3}[trunk]
  base = _TRUNKS[trunk]
  if index == 0 and rest == "0":
    return f"{base}/conv_in/conv"
  unit = re.fullmatch(r"stem\.(\d+)\.([02])", rest)
  if 0 < index < last and unit:
    return f"{base}/block{index - 1}/unit{unit[1]}_{'a' if unit[2] == '0' else 'b'}/conv"
  if index == last and rest in ("", "0"):
    return "filter_predictor/head" if trunk == "F" else f"{base}/conv_out/conv"
  return None


def module_path(torch_module):
  """Maps a reference module name (no `.weight`/`.bias`) to our parameter path, or None."""
  if m := re.fullmatch(r"(k?conv)([1-4])_([1-3])\.0", torch_module):
    return f"{_ENCODERS[m[1]]}/conv{m[2]}_{m[3]}/conv"
  if m := re.fullmatch(r"upconv([1-3])_u\.0", torch_module):
    return f"upconv{m[1]}"
  if m := re.fullmatch(r"upconv([1-3])_([12])\.stem\.0\.([02])", torch_module):
    return f"upconv{m[1]}_res{int(m[2]) - 1}/unit0_{'a' if m[3] == '0' else 'b'}/conv"
  if torch_module == "conv_DME.0":
    return "disparity_features/conv"
  if torch_module == "out_res.0":
    return "out_res/conv"
  if m := re.fullmatch(r"(DME|conv4_4|F|conv_res|RBF)\.(\d+)(?:\.(.*))?", torch_module):
    return _trunk_path(m[1], int(m[2]), m[3] or "")
  return None


def _strip(key):
  """`module.Network.conv1_1.0.weight` -> ('network', 'conv1_1.0.weight')."""
  part = "reblur" if "reblurNet." in key else "network"
  return part, _PREFIX.sub("", key)


def _to_flax(path, leaf, tensor):
  """OIHW conv weights -> HWIO; transposed-conv `(in, out, kh, kw)` -> `(kh, kw, in, out)`."""
  if leaf == "bias":
    return tensor
  if re.fullmatch(r"upconv[1-3]", path):
    return tensor.transpose(2, 3, 0, 1)
  return tensor.transpose(2, 3, 1, 0)


def split_state_dict(state_dict: Mapping[str, np.ndarray]):
  """Groups a reference state dict into {'network': {...}, 'reblur': {...}} of stripped keys."""
  parts = {"network": {}, "reblur": {}}
  for key, value in state_dict.items():
    part, name = _strip(key)
    parts[part][name] = np.asarray(value, dtype=np.float32)
  return parts


def infer_config(
  network: Mapping[str, np.ndarray],
  reblur: Mapping[str, np.ndarray],
  *,
  filter_size=OFFICIAL.filter_size,
  reblur_filter_size=OFFICIAL.reblur_filter_size,
  in_bit=OFFICIAL.in_bit,
) -> IFANConfig:
  """Reads width, kernel size, res_num, N, dual-pixel input and RBF_num off the shapes."""
  required = ("conv1_1.0.weight", "kconv1_1.0.weight", "F.3.weight")
  missing = [k for k in required if k not in network]
  if missing:
    raise CheckpointMismatch(f"Not an IFAN checkpoint: missing {missing} (found {len(network)} network keys).")
  channels, _, kernel_size, _ = network["conv1_1.0.weight"].shape
  encoder_in = network["kconv1_1.0.weight"].shape[1]
  if encoder_in not in (3, 6):
    raise CheckpointMismatch(f"kconv1_1 takes {encoder_in} input channels; IFAN uses 3 (single) or 6 (dual).")
  res_num = len({k.split(".")[3] for k in network if k.startswith("DME.1.stem.")})
  ch4 = 4 * channels
  iterations = _iterations(network["F.3.weight"].shape[0], ch4, filter_size, "F.3 (filter predictor)", "filter_size")
  reblur_iterations = 17
  if "RBF.3.weight" in reblur:
    reblur_iterations = _iterations(
      reblur["RBF.3.weight"].shape[0], 3, reblur_filter_size, "RBF.3 (reblur)", "reblur_filter_size"
    )
  return IFANConfig(
    channels=int(channels),
    kernel_size=int(kernel_size),
    res_num=res_num,
    filter_size=filter_size,
    iterations=iterations,
    reblur_filter_size=reblur_filter_size,
    reblur_iterations=reblur_iterations,
    dual_pixel=encoder_in == 6,
    in_bit=in_bit,
    iac_compat=True,
  )


def _iterations(out_channels, channels, filter_size, what, flag):
  try:
    return FilterLayout.from_total(out_channels, channels, filter_size, what=what).iterations
  except ValueError as e:
    raise CheckpointMismatch(
      f"{e}: a checkpoint of another --{flag}? Give it to `python -m ifan_jax.convert SRC DST "
      f"--{flag} K` (official checkpoints have {getattr(OFFICIAL, flag)}) and use the converted model."
    ) from None


def convert_part(tensors: Mapping[str, np.ndarray], expected: Mapping[str, tuple], what: str):
  """Maps stripped reference keys onto our flat `path/leaf` names, checking names and shapes.

  Raises CheckpointMismatch listing every unknown, missing and mis-shaped key at once.
  """
  converted, unknown, misshaped = {}, [], {}
  for key, tensor in sorted(tensors.items()):
    module, _, leaf = key.rpartition(".")
    path = module_path(module)
    flat = f"{path}/{'kernel' if leaf == 'weight' else leaf}" if path and leaf in ("weight", "bias") else None
    if flat not in expected:
      unknown.append(key)
      continue
    value = _to_flax(path, flat.rsplit("/", 1)[1], tensor)
    if value.shape != tuple(expected[flat]):
      misshaped[flat] = f"{key}: {tuple(tensor.shape)} gives {value.shape}, expected {tuple(expected[flat])}"
      continue
    converted[flat] = value
  missing = sorted(set(expected) - set(converted) - set(misshaped))
  problems = [
    f"{label}: {items}"
    for label, items in (
      ("unknown keys", unknown),
      ("missing parameters (our names)", missing),
      ("mis-shaped keys", list(misshaped.values())),
    )
    if items
  ]
  if problems:
    raise CheckpointMismatch(f"The {what} weights do not fit the model; " + "; ".join(problems))
  return traverse_util.unflatten_dict(converted, sep="/")


def expected_shapes(config: IFANConfig) -> dict[str, dict[str, tuple]]:
  """Flat parameter shapes of {'network', 'reblur'} for `config`, without allocating them."""
  x = jnp.zeros((1, SIZE_MULTIPLE, SIZE_MULTIPLE, 3))
  variables = jax.eval_shape(lambda: IFANWithReblur(config).init(jax.random.key(0), x, sharp=x, left=x, right=x))
  return {
    part: {k: v.shape for k, v in traverse_util.flatten_dict(tree, sep="/").items()}
    for part, tree in variables["params"].items()
  }


def convert_state_dict(
  state_dict: Mapping[str, np.ndarray],
  *,
  filter_size=OFFICIAL.filter_size,
  reblur_filter_size=OFFICIAL.reblur_filter_size,
  in_bit=OFFICIAL.in_bit,
):
  """Reference state dict -> (IFANConfig, network params, reblur params or None)."""
  parts = split_state_dict(state_dict)
  config = infer_config(
    parts["network"], parts["reblur"], filter_size=filter_size, reblur_filter_size=reblur_filter_size, in_bit=in_bit
  )
  shapes = expected_shapes(config)
  network = convert_part(parts["network"], shapes["network"], "deblurring network")
  reblur = convert_part(parts["reblur"], shapes["reblur"], "reblurring network") if parts["reblur"] else None
  return config, network, reblur


def load_state_dict(path) -> dict[str, np.ndarray]:
  """Reads a `torch.save`d state dict as numpy arrays; a clear error for a missing or broken file."""
  try:
    import torch  # pylint: disable=import-outside-toplevel
  except ImportError as e:
    raise ImportError(
      "Reading official .pytorch checkpoints needs PyTorch: "
      "pip install torch==2.13.0 (CPU) or pip install 'ifan_jax[torch]'."
    ) from e
  path = epath.Path(path)
  if not path.exists():
    raise FileNotFoundError(f"No checkpoint at {path}.")
  try:
    state = torch.load(path, map_location="cpu", weights_only=True)
  except pickle.UnpicklingError:  # torch's message advises weights_only=False, which would run the file's code.
    raise ValueError(
      f"Cannot read {path} as a PyTorch state dict: it holds something other than tensors saved by torch.save "
      "(a damaged file, or Python objects, which are never unpickled here: that could run code). Download it again."
    ) from None
  except Exception as e:  # torch raises many types for truncated or foreign files.
    reason = str(e).split(". ")[0]
    raise ValueError(
      f"Cannot read {path} as a PyTorch state dict ({type(e).__name__}: {reason}). Is the file complete?"
    ) from None
  if not isinstance(state, Mapping) or not all(hasattr(v, "numpy") for v in state.values()):
    raise ValueError(f"{path} holds a {type(state).__name__}, not a state dict of tensors.")
  return {k: v.detach().float().numpy() for k, v in state.items()}


def convert_file(
  src,
  dst,
  *,
  filter_size=OFFICIAL.filter_size,
  reblur_filter_size=OFFICIAL.reblur_filter_size,
  in_bit=None,
  overwrite=False,
):
  """Converts `src` (.pytorch) into a model checkpoint at `dst`; nothing is written on error.

  `overwrite` replaces only a model directory (see `model_dir.check_destination`), and
  never one that holds `src`; the destination is checked before the slow conversion.
  """
  src = os.path.abspath(src)
  model_dir.check_destination(dst, overwrite=overwrite, keep=(src,))
  if in_bit is None:
    in_bit = 16 if "16bit" in os.path.basename(src) else OFFICIAL.in_bit
  config, network, reblur = convert_state_dict(
    load_state_dict(src), filter_size=filter_size, reblur_filter_size=reblur_filter_size, in_bit=in_bit
  )
  model_dir.save_model(dst, config, network, reblur_params=reblur, overwrite=overwrite, source=src, keep=(src,))
  return config
