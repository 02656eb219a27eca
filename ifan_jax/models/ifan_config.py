"""Every architectural knob of IFAN, in one frozen dataclass that checkpoints carry as JSON."""

import dataclasses
from typing import Any

from ifan_jax.ops.iac.layout import FilterLayout

# Fields that choose how the same model is computed, not what it computes or which parameters it has:
# a run may resume with other values (e.g. move to bfloat16 or the Pallas kernel on a GPU).
EXECUTION_FIELDS = ("fuse_filter_head", "iac_impl", "dtype")
# Fields that only record a fact about the model, read by no computation: a run may resume with another
# value (the data of a fine-tuning run may have another bit depth than the model it started from).
RECORD_FIELDS = ("in_bit",)


@dataclasses.dataclass(frozen=True)
class IFANConfig:
  """IFAN's architecture. Defaults are the official `IFAN.pytorch` model (N=17, 8-bit).

  Names in brackets are the reference's config keys.
  """

  channels: int = 32  # [ch] channels at full resolution; 2x, 4x, 4x at 1/2, 1/4, 1/8.
  kernel_size: int = 3  # [ks] convolution kernel size.
  res_num: int = 2  # [res_num] residual units per block in the DME, filter predictor, RBN.
  filter_size: int = 3  # [Fs] IAC filter taps k.
  iterations: int = 17  # [N] IAC iterations; the official checkpoints use 8, 17, 26, 35, 44.
  reblur_filter_size: int = 3  # [RBFs] taps of the reblurring IAC.
  reblur_iterations: int = 17  # [RBF_num] iterations of the reblurring IAC.
  dual_pixel: bool = False  # Filter encoder reads concat[R, L] (IFAN_dual) instead of C.
  in_bit: int = 8  # Bit depth of the training images (8 or 16), a record: inputs are always in [0, 1].
  # Reproduce the published IAC bug (horizontal pass reuses the vertical kernel). Must be
  # on for the official weights; off trains the corrected op.
  iac_compat: bool = False
  init_gain: float = 1.0  # [wi] Xavier-uniform gain of every convolution.
  filter_init_gain: float = 1.5  # [wiF] gain of the filter predictor F.
  reblur_init_gain: float = 1.0  # [wiRF] gain of the reblurring network.
  # Not in the reference: the output convolution starts at zero, so a new network returns its input.
  zero_init_output: bool = False
  # Inference computes each IAC iteration's filters on the fly from the predictor's
  # features instead of materialising all N*(2Ck)+N*C channels.
  fuse_filter_head: bool = True
  iac_impl: str = "auto"  # "auto" | "xla" | "reference" | "pallas": ifan_jax.ops.iac.resolve_impl
  dtype: str = "float32"  # Compute dtype ("bfloat16" on GPU/TPU); parameters stay float32.

  def __post_init__(self):
    for name in ("kernel_size", "filter_size", "reblur_filter_size"):
      if getattr(self, name) % 2 == 0:
        raise ValueError(f"IFANConfig.{name} must be odd, got {getattr(self, name)}.")
    if self.in_bit not in (8, 16):
      raise ValueError(f"IFANConfig.in_bit must be 8 or 16, got {self.in_bit}.")

  @property
  def ch4(self) -> int:
    """Channels at 1/8 resolution, where the IAC runs."""
    return self.channels * 4

  @property
  def filter_channels(self) -> int:
    """Channels of the predicted IAC filters: N*(2*ch4*k) + N*ch4 (15,232 by default)."""
    return FilterLayout(self.ch4, self.iterations, self.filter_size).total

  @property
  def reblur_filter_channels(self) -> int:
    """Channels of the reblurring filters for 3 image channels."""
    return FilterLayout(3, self.reblur_iterations, self.reblur_filter_size).total

  def replace(self, **changes) -> "IFANConfig":
    return dataclasses.replace(self, **changes)

  def to_dict(self) -> dict[str, Any]:
    return dataclasses.asdict(self)

  @classmethod
  def from_dict(cls, values: dict[str, Any]) -> "IFANConfig":
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - known)
    if unknown:
      raise ValueError(f"Unknown IFANConfig fields {unknown}; known fields are {sorted(known)}.")
    return cls(**values)
