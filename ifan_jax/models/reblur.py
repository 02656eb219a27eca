"""The reblurring network (training only) and the model that trains IFAN with it."""

import flax.linen as nn
import jax.numpy as jnp

from ifan_jax import ops
from ifan_jax.models.ifan import IFAN, SIZE_MULTIPLE
from ifan_jax.models.ifan_config import IFANConfig
from ifan_jax.models.layers import Trunk


class ReblurNet(nn.Module):
  """Predicts 3-channel IAC filters from IFAN's deblurring filters and reblurs the sharp image at 1/8.

  The sharp image is nearest-downsampled by 8, filtered by the IAC (no activation after
  the last iteration), and added back: the result should match the blurred input
  area-downsampled by 8.
  """

  config: IFANConfig

  @nn.compact
  def __call__(self, sharp, filters):
    cfg = self.config
    reblur_filters = Trunk(
      cfg.ch4,
      res_num=cfg.res_num,
      out_features=cfg.reblur_filter_channels,
      act_out=False,
      kernel_size=cfg.kernel_size,
      out_kernel_size=3,
      gain=cfg.reblur_init_gain,
      dtype=jnp.dtype(cfg.dtype),
      name="trunk",
    )(filters)
    sharp_down = ops.nearest_downsample(sharp, SIZE_MULTIPLE)
    reblurred = ops.iac(
      sharp_down,
      reblur_filters.astype(sharp.dtype),
      iterations=cfg.reblur_iterations,
      filter_size=cfg.reblur_filter_size,
      compat=cfg.iac_compat,
      act_last=False,
      impl=cfg.iac_impl,
    )
    return reblurred + sharp_down


class IFANWithReblur(nn.Module):
  """IFAN plus its reblurring network, as trained; parameters live under `network` and `reblur`.

  `__call__(blurred, sharp, left=None, right=None)` returns IFAN's training outputs plus `reblurred`
  (the views may be None: see `IFAN`).
  """

  config: IFANConfig

  def setup(self):
    self.network = IFAN(self.config)
    self.reblur = ReblurNet(self.config)

  def __call__(self, blurred, sharp, left=None, right=None):
    outputs = self.network(blurred, left=left, right=right, train=True)
    outputs["reblurred"] = self.reblur(sharp, outputs["filters"])
    return outputs
