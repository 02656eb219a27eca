"""Synchronised PyTorch timings on CUDA (or the CPU): warm-up, then the median, and the allocator's peak."""

import resource

from benchmarks.timing import median_seconds


def synchronized(fn, device):
  import torch  # pylint: disable=import-outside-toplevel

  result = fn()
  if device == "cuda":
    torch.cuda.synchronize()
  return result


def timed(fn, device, repeats):
  """ms: median over `repeats` synchronised calls after one warm-up; peak_gib: CUDA allocator's peak (else RSS)."""
  import torch  # pylint: disable=import-outside-toplevel

  if device == "cuda":
    torch.cuda.reset_peak_memory_stats()
  seconds = median_seconds(lambda: synchronized(fn, device), repeats, warmup=True)
  if device == "cuda":
    peak = torch.cuda.max_memory_allocated() / 2**30
  else:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
  return dict(ms=1e3 * seconds, peak_gib=peak)


def device_summary(device):
  import torch  # pylint: disable=import-outside-toplevel

  name = torch.cuda.get_device_name() if device == "cuda" else "cpu"
  return dict(device=name, torch=torch.__version__, threads=torch.get_num_threads())
