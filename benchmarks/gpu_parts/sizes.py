"""What the suite measures: the real sizes for a GPU, and tiny ones that rehearse every part on a CPU."""

import dataclasses


@dataclasses.dataclass(frozen=True)
class Sizes:
  iac_shapes: tuple  # (B, H, W, C) features of the IAC alone.
  iac_iterations: int
  iac_filter_size: int
  image_sizes: tuple  # (W, H) of whole-model inference, multiples of 8.
  model: dict  # IFANConfig fields over the defaults (inference and training).
  train_batch: int
  train_crop: int
  repeats: int  # Timed runs per case, after a warm-up run; the median is reported.
  copy_mib: int  # Size of the device-to-device copy that measures the practical bandwidth.


FULL = Sizes(
  iac_shapes=((1, 140, 210, 128), (8, 32, 32, 128)),  # DPDD's 1680x1120 at 1/8; a training batch at 1/8.
  iac_iterations=17,
  iac_filter_size=3,
  image_sizes=((1280, 720), (1680, 1120)),
  model={},
  train_batch=8,
  train_crop=256,
  repeats=20,
  copy_mib=2048,
)

TINY = Sizes(
  iac_shapes=((1, 12, 20, 16), (2, 8, 8, 16)),
  iac_iterations=4,
  iac_filter_size=3,
  image_sizes=((96, 64), (64, 48)),
  model=dict(channels=4, res_num=1, iterations=2, reblur_iterations=2),
  train_batch=2,
  train_crop=32,
  repeats=2,
  copy_mib=16,
)
