"""Every knob of `python -m ifan_jax.train`, each with what it does: `default_config()`.

Defaults are the reference recipe on DPDD (8-bit, single image). The files in `ifan_jax/configs/` start
from it and change a few values; override any field from the command line, e.g.
`--config.batch_size=16`. A field that does not exist is an error. `--config FILE:smoke` is the
file's run shrunk to a minute (`with_variant`).
"""

from ml_collections import config_dict

from ifan_jax.models import IFANConfig


def default_config():
  config = config_dict.ConfigDict()

  # The network: every field of ifan_jax.models.IFANConfig (documented there).
  # `--config.model.dtype=bfloat16` computes in bf16 on GPU/TPU; parameters stay float32.
  config.model = config_dict.ConfigDict(IFANConfig().to_dict())

  # Fine-tuning: start the network (and the reblurring network, if the source has one and the
  # reblurring loss is on) from a model directory, an official .pytorch file or another run's
  # workdir; the optimiser starts fresh. The model config then comes from the source, except the
  # `model.*` fields given on the command line and how the model is computed (dtype, iac_impl,
  # fuse_filter_head). A .pytorch file's shapes do not tell model.filter_size,
  # model.reblur_filter_size nor model.in_bit: those come from this config. A workdir that already
  # has checkpoints resumes from them and ignores init_from.
  config.init_from = config_dict.placeholder(str)

  # Data: a TFDS dataset of ifan_jax/data/registry.py (docs/datasets.md). synthetic_dp is
  # rendered on first use; the others must be built from their downloads (pairs/NAME from your
  # own folder of photos) first. A mixture names several with weights: "lfdof@0.7,dpdd@0.3"
  # (ifan_jax/data/mixture.py), each member read from train_split.
  config.dataset = "dpdd"  # "dpdd", "dpdd/16bit", "pairs/NAME", "synthetic_dp" (or "synthetic_dp/<config>").
  config.data_dir = config_dict.placeholder(str)  # TFDS data_dir; None means TFDS's default.
  config.train_split = "train"
  # Validation: eval_split of eval_dataset; None means `dataset` (a mixture's first member).
  config.eval_dataset = config_dict.placeholder(str)
  # None: "validation" if the dataset has it, else "test", else the run trains without validation
  # (the log and final_metrics.json's validation_split say which). A split named here must exist.
  config.eval_split = config_dict.placeholder(str)
  config.eval_limit = config_dict.placeholder(int)  # Validate on the first N images only; None = all.
  config.crop_size = 256  # Side of the random training crops (a multiple of 8).
  config.batch_size = 8  # Global batch over all devices and hosts.
  config.num_workers = 0  # Input-pipeline worker processes per host (0 = in the training process).
  config.in_memory = False  # Keep decoded training images in memory.
  config.augment = True  # The reference's noise / grayscale / rescale augmentation.

  # Loss = deblur MSE + disparity (warp) MSE + reblurring MSE, as the reference.
  # Only the disparity loss (and the dual-pixel model) reads the dual-pixel views: with it off,
  # training reads blurred and sharp images only, and any dataset of pairs will do.
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
  # Validate, keep the best of and deblur with an exponential moving average of the parameters
  # with this decay (training/averaging.py); None (the reference) uses the parameters themselves.
  config.ema_decay = config_dict.placeholder(float)

  # Loop.
  config.total_steps = 600_000
  config.seed = 0  # Parameters and data order; same seed and device count give the same run.
  config.log_every_steps = 200  # Train metrics to TensorBoard and metrics.jsonl.
  config.eval_every_steps = 10_000  # Validation (and the best-by-PSNR checkpoint).
  config.checkpoint_every_steps = 10_000  # Also saved at the end and on SIGTERM.
  config.keep_checkpoints = 3  # Most recent checkpoints kept in WORKDIR/checkpoints.
  config.num_image_summaries = 2  # Validation images written to TensorBoard.
  return config


VARIANTS = ("smoke",)


def check_variant(variant: str):
  """Raises ValueError naming `variant` and the choices unless it is "" or one of `VARIANTS`."""
  if variant not in ("", *VARIANTS):
    choices = ", ".join(f":{v}" for v in VARIANTS)
    raise ValueError(f"no variant {variant!r}; a shipped config takes {choices} or none.")


def with_variant(config, variant: str = ""):
  """`config` as `--config FILE:VARIANT` asks for it: "" is the file's own run; "smoke" the same data,
  model, losses and batch for 20 steps of 64x64 crops, validated on 2 images and saved at step 10
  and 20, to check a dataset build and the whole loop in a minute before a run of days.
  """
  check_variant(variant)
  if variant == "":
    return config
  config.update(
    total_steps=20,
    crop_size=64,
    log_every_steps=5,
    eval_every_steps=10,
    checkpoint_every_steps=10,
    eval_limit=2,
    num_image_summaries=1,
  )
  return config
