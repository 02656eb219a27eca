"""The IFAN deblurring network (Lee et al., CVPR 2021), NHWC, images in [0, 1]."""

import flax.linen as nn
import jax.numpy as jnp

from ifan_jax import ops
from ifan_jax.geometry import SIZE_MULTIPLE
from ifan_jax.models.ifan_config import IFANConfig
from ifan_jax.models.layers import Conv, Encoder, ResBlock, Trunk, UpConv, xavier_uniform


def check_image_shape(x, name="image"):
  """Raises a ValueError naming the shape unless `x` is `[B, H, W, C]` with H, W multiples of 8."""
  if x.ndim != 4 or x.shape[1] % SIZE_MULTIPLE or x.shape[2] % SIZE_MULTIPLE:
    raise ValueError(
      f"IFAN needs {name} shaped [batch, height, width, channels] with height and width "
      f"multiples of {SIZE_MULTIPLE}, got shape {tuple(x.shape)}. Pad or crop it first "
      f"(ifan_jax.Deblurrer pads any size for you)."
    )


class FilterPredictor(nn.Module):
  """Predicts the per-pixel IAC filters: a trunk, then a 1x1 conv to N*(2*C*k) + N*C channels.

  Calling it returns the trunk's features; `filters(features)` runs the 1x1 head, and
  `iac(image_features, features)` applies the IAC with the head fused into its loop.
  """

  config: IFANConfig

  def setup(self):
    cfg = self.config
    self.trunk = Trunk(
      cfg.ch4, res_num=cfg.res_num, kernel_size=cfg.kernel_size, gain=cfg.filter_init_gain, dtype=cfg.dtype
    )
    self.head = nn.Conv(cfg.filter_channels, (1, 1), kernel_init=xavier_uniform(cfg.filter_init_gain), dtype=cfg.dtype)

  def __call__(self, x):
    return self.trunk(x)

  def filters(self, features):
    return self.head(features)

  def fused_iac(self, image_features, features):
    cfg = self.config
    if self.is_initializing():  # Fused inference reads the head's parameters directly.
      self.head(features[:, :1, :1])
    params = self.head.variables["params"]
    return ops.iac_fused(
      image_features,
      features,
      params["kernel"][0, 0].astype(features.dtype),
      params["bias"].astype(features.dtype),
      iterations=cfg.iterations,
      filter_size=cfg.filter_size,
      compat=cfg.iac_compat,
      impl=cfg.iac_impl,
    )


class IFAN(nn.Module):
  """The deblurring network: feature extractor, filter encoder, DME, filter predictor, IAC, reconstructor.

  `__call__(blurred, left=None, right=None, train=False)` returns a dict (pass the views by keyword):
  - always `result` (clipped to [0, 1] in inference, raw in training) and `disparity`
    (the DME output for the filter-encoder input, `[B, H/8, W/8, 1]`);
  - in training also `filters`, and, given the views, what the disparity loss compares:
    `disparity_right`, `right_warped` and `left_down` (`right` warped by `disparity_right` and
    `left` area-downsampled, both at 1/8). Without views (training without the disparity loss)
    the single-image variant reads the blurred image alone.
  The dual-pixel variant (`config.dual_pixel`) always needs `right` and `left`.
  """

  config: IFANConfig

  @nn.compact
  def __call__(self, blurred, left=None, right=None, train=False):
    cfg = self.config
    self._check_inputs(blurred, right, left, train)
    common = dict(gain=cfg.init_gain, dtype=jnp.dtype(cfg.dtype))
    ks = cfg.kernel_size
    feature_extractor = Encoder(cfg.channels, ks, name="feature_extractor", **common)
    filter_encoder = Encoder(cfg.channels, ks, name="filter_encoder", **common)
    disparity_estimator = Trunk(
      cfg.ch4,
      res_num=cfg.res_num,
      out_features=1,
      act_out=False,
      kernel_size=ks,
      out_kernel_size=3,
      name="disparity_estimator",
      **common,
    )
    # The dual-pixel variant encodes concat[R, L]; for the disparity loss the single-image
    # variant encodes R alone, while the dual one reuses the disparity of concat[R, L].
    dual_input = jnp.concatenate([right, left], axis=-1) if cfg.dual_pixel else None

    f1, f2, f3, f_blurred = feature_extractor(blurred)
    encoded = filter_encoder(dual_input if cfg.dual_pixel else blurred)[-1]
    disparity = disparity_estimator(encoded)

    disparity_features = Conv(cfg.ch4, 3, name="disparity_features", **common)(disparity)
    x = Trunk(cfg.ch4, res_num=cfg.res_num, out_features=cfg.ch4, kernel_size=ks, name="filter_features", **common)(
      jnp.concatenate([encoded, disparity_features], axis=-1)
    )
    predictor = FilterPredictor(cfg, name="filter_predictor")
    x = predictor(x)
    outputs = {"disparity": disparity}
    if train or not cfg.fuse_filter_head:
      filters = predictor.filters(x)
      x = ops.iac(
        f_blurred,
        filters,
        iterations=cfg.iterations,
        filter_size=cfg.filter_size,
        compat=cfg.iac_compat,
        impl=cfg.iac_impl,
      )
      if train:
        outputs["filters"] = filters
    else:
      x = predictor.fused_iac(f_blurred, x)

    result = self._reconstruct(x, (f3, f2, f1), blurred, common)
    if not train:
      outputs["result"] = jnp.clip(result, 0.0, 1.0)
      return outputs
    outputs["result"] = result
    if right is not None:
      disparity_right = disparity if cfg.dual_pixel else disparity_estimator(filter_encoder(right)[-1])
      outputs.update(self._disparity_loss_inputs(disparity_right, right, left))
    return outputs

  @staticmethod
  def _disparity_loss_inputs(disparity_right, right, left):
    """What the disparity loss compares: `right` at 1/8 warped by its disparity, and `left` at 1/8."""
    return dict(
      disparity_right=disparity_right,
      right_warped=ops.warp_horizontal(ops.area_downsample(right, SIZE_MULTIPLE), disparity_right.astype(right.dtype)),
      left_down=ops.area_downsample(left, SIZE_MULTIPLE),
    )

  def _check_inputs(self, blurred, right, left, train):
    check_image_shape(blurred, "the blurred image")
    if self.config.dual_pixel and (right is None or left is None):
      raise ValueError("The dual-pixel IFAN needs the right and left views as well as the blurred image.")
    if train and (right is None) != (left is None):
      raise ValueError("Training mode takes both dual-pixel views (for the disparity loss) or neither.")

  def _reconstruct(self, x, skips, blurred, common):
    """The reconstructor: the filtered 1/8 features, upsampled past the encoder's skips, added to `blurred`.

    Called from `__call__`, whose compact scope its submodules join (their names are the converter's).
    """
    cfg, ks = self.config, self.config.kernel_size
    x = Trunk(
      cfg.ch4, num_blocks=1, res_num=3, out_features=cfg.ch4, kernel_size=ks, name="reconstructor_in", **common
    )(x)
    for scale, skip in zip((3, 2, 1), skips):
      x = UpConv(skip.shape[-1], name=f"upconv{scale}", **common)(x) + skip
      for j in range(2):
        x = ResBlock(1, ks, name=f"upconv{scale}_res{j}", **common)(x)
    output_gain = 0.0 if cfg.zero_init_output else cfg.init_gain  # Xavier with gain 0: zeros.
    return Conv(3, ks, name="out_res", **(common | {"gain": output_gain}))(x).astype(blurred.dtype) + blurred
