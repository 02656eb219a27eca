"""Synchronised JAX timings: compile once, warm up, then the median of repeated runs.

A run ends when its result is ready on the device (`block_until_ready`) or, with `to_host`, when
it is a numpy array on the host; never an unsynchronised timing.
"""

import resource
import time

import jax
import numpy as np

from benchmarks.timing import median_seconds


def planned_peak_gib(compiled):
  """XLA's memory plan of one executable: arguments + outputs + temporaries - donated (GiB), or None."""
  stats = compiled.memory_analysis()
  if stats is None:
    return None
  total = stats.argument_size_in_bytes + stats.output_size_in_bytes + stats.temp_size_in_bytes
  return (total - stats.alias_size_in_bytes) / 2**30


def time_jitted(fn, *args, repeats, to_host=False):
  """Figures of `jax.jit(fn)(*args)`: compile_s, ms (median), planned_gib; `ms_host` too with `to_host`."""
  start = time.perf_counter()
  compiled = jax.jit(fn).lower(*args).compile()
  compile_s = time.perf_counter() - start
  on_device = lambda: jax.block_until_ready(compiled(*args))
  on_host = lambda: jax.tree.map(np.asarray, compiled(*args))
  on_host()  # Warm-up: allocator, autotuned kernels, transfers.
  figures = dict(compile_s=compile_s, ms=1e3 * median_seconds(on_device, repeats))
  if to_host:
    figures["ms_host"] = 1e3 * median_seconds(on_host, repeats)
  figures["planned_gib"] = planned_peak_gib(compiled)
  return figures


def device_summary():
  device = jax.devices()[0]
  return dict(device=device.device_kind, backend=jax.default_backend(), jax=jax.__version__)


def process_peak_gib():
  """Peak memory of this process: the device's allocator on a GPU, the resident set on a CPU."""
  device = jax.local_devices()[0]
  stats = device.memory_stats() if device.platform != "cpu" else None
  if stats and "peak_bytes_in_use" in stats:
    return stats["peak_bytes_in_use"] / 2**30
  return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
