"""The official PyTorch IFAN, built from a checkout of its repository, for side-by-side timings.

We do not ship the official code: pass the folder of a checkout (for example
`git -C MIRROR archive HEAD models | tar -x -C .official`); it is put on `sys.path` and its
`models.archs` imported. Random weights, the architecture of our `IFANConfig`. The training step
is the official trainer's (`models/trainers/trainer.py`): the network and the reblurring network
in one `torch_optimizer.RAdam` group, the three MSE losses, global-norm clipping. Flag-free.
"""

import sys
import types


def _import(repo, module):
  if repo not in sys.path:
    sys.path.insert(0, repo)
  try:
    return __import__(f"models.archs.{module}", fromlist=["Network"])
  except ImportError as error:
    raise SystemExit(f"--official_repo {repo}: cannot import models.archs.{module} from it ({error}).") from error


def settings(model_config, device):
  """The official config namespace for the architecture of an `IFANConfig` (its keys in brackets there)."""
  m = model_config
  return types.SimpleNamespace(
    device=device,
    ks=m.kernel_size,
    Fs=m.filter_size,
    res_num=m.res_num,
    ch=m.channels,
    wiF=m.filter_init_gain,
    N=m.iterations,
    RBFs=m.reblur_filter_size,
    RBF_num=m.reblur_iterations,
    wiRF=m.reblur_init_gain,
  )


def network(repo, model_config, device):
  """The official deblurring network (inference mode) on `device` ("cpu" or "cuda")."""
  return _import(repo, "IFAN").Network(settings(model_config, device)).to(device).eval()


def training_step(repo, train_config, model_config, batch_size, crop, device, amp=False):
  """A callable running one official training step on fixed random data, as `models/trainers/trainer.py` does.

  `amp`: the trainer's `is_amp` path (autocast forward, `GradScaler`, unscale before the clip).
  """
  import torch  # pylint: disable=import-outside-toplevel
  import torch.nn.functional as F  # pylint: disable=import-outside-toplevel

  try:
    import torch_optimizer  # pylint: disable=import-outside-toplevel
  except ImportError as error:
    raise SystemExit(
      "The official trainer's RAdam needs torch-optimizer: pip install torch-optimizer==0.3.0"
    ) from error
  config = settings(model_config, device)
  deblur = _import(repo, "IFAN").Network(config).to(device).train()
  reblur = _import(repo, "RBN").Network(config, deblur.kernel_dim).to(device).train()
  parameters = list(deblur.parameters()) + list(reblur.parameters())
  c = train_config
  optimizer = torch_optimizer.RAdam(
    parameters, lr=c.learning_rate, betas=(c.b1, c.b2), eps=c.eps, weight_decay=c.weight_decay
  )
  scaler = torch.amp.GradScaler(device) if amp else None
  blurred, left, right, sharp = (torch.rand(batch_size, 3, crop, crop, device=device) for _ in range(4))

  def loss():
    with torch.autocast(device, enabled=amp):
      outputs = deblur(blurred, right, left, is_train=True)
      outputs.update(reblur(sharp, outputs["Filter"]))
    return (
      F.mse_loss(outputs["result"], sharp)
      + F.mse_loss(outputs["f_R_w"], outputs["f_L"])
      + F.mse_loss(outputs["SB"], F.interpolate(blurred, scale_factor=1 / 8, mode="area"))
    )

  def step():
    optimizer.zero_grad(set_to_none=True)
    value = loss()
    if scaler is None:
      value.backward()
      torch.nn.utils.clip_grad_norm_(parameters, c.grad_clip_norm)
      optimizer.step()
    else:
      scaler.scale(value).backward()
      scaler.unscale_(optimizer)
      torch.nn.utils.clip_grad_norm_(parameters, c.grad_clip_norm)
      scaler.step(optimizer)
      scaler.update()
    return value

  return step
