"""Every knob of `python -m ifan_jax.train`, each with what it does: `default_config()`.

Defaults are the reference recipe on DPDD (8-bit, single image). The files in `configs/` start
from it and change a few values; override any field from the command line, e.g.
`--config.batch_size=16`. A field that does not exist is an error.
"""

from ml_collections import config_dict

from ifan_jax.models import IFANConfig


def default_config():
  config = config_dict.ConfigDict()

  # The network: every field of ifan_jax.models.IFANConfig (documented there).
  # `--config.model.dtype=bfloat16` computes in bf16 on GPU/TPU; parameters stay float32.
  config.model = config_dict.ConfigDict(IFANConfig().to_dict())

  # Data: a TFDS dataset of ifan_jax/data/registry.py (docs/datasets.md). synthetic_dp is
  # rendered on first use; the others must be built from their downloads first.
  config.dataset = "dpdd"  # "dpdd", "dpdd/16bit" or "synthetic_dp" (or "synthetic_dp/<config>").
  config.data_dir = config_dict.placeholder(str)  # TFDS data_dir; None means TFDS's default.
  config.train_split = "train"
  config.eval_split = "validation"
  config.eval_limit = config_dict.placeholder(int)  # Validate on the first N images only; None = all.
  config.crop_size = 256  # Side of the random training crops (a multiple of 8).
  config.batch_size = 8  # Global batch over all devices and hosts.
  config.num_workers = 0  # Input-pipeline worker processes per host (0 = in the training process).
  config.in_memory = False  # Keep decoded training images in memory.
  config.augment = True  # The reference's noise / grayscale / rescale augmentation.

  # Loss = deblur MSE + disparity (warp) MSE + reblurring MSE, as the reference.
  # Without dual-pixel data turn off the disparity loss (the reblurring loss needs only
  # the blurred and sharp images).
  config.use_disparity_loss = True
  config.use_reblur_loss = True
  config.deblur_loss_weight = 1.0
  config.disparity_loss_weight = 1.0
  config.reblur_loss_weight = 1.0

  # Optimiser: global-norm clipping, RAdam, decoupled weight decay, step decay of the rate.
  config.learning_rate = 1e-4
  config.lr_decay_steps = (500_000, 550_000)  # The rate is multiplied by lr_decay_rate after each.
  config.lr_decay_rate = 0.5
  config.b1 = 0.9
  config.b2 = 0.999
  config.eps = 1e-8
  config.radam_threshold = 5.0  # Below this variance-tractability value RAdam takes a momentum step.
  config.weight_decay = 0.01  # Each step: p -= learning_rate * weight_decay * p.
  config.grad_clip_norm = 0.5  # Global norm over all parameters (network and reblurring net).

  # Loop.
  config.total_steps = 600_000
  config.seed = 0  # Parameters and data order; same seed and device count give the same run.
  config.log_every_steps = 200  # Train metrics to TensorBoard and metrics.jsonl.
  config.eval_every_steps = 10_000  # Validation (and the best-by-PSNR checkpoint).
  config.checkpoint_every_steps = 10_000  # Also saved at the end and on SIGTERM.
  config.keep_checkpoints = 3  # Most recent checkpoints kept in WORKDIR/checkpoints.
  config.num_image_summaries = 2  # Validation images written to TensorBoard.
  return config
