"""The one timing loop of the benchmarks: the median wall time of repeated calls.

Each call must return only when its work is done (`block_until_ready`, a host copy, or
`torch.cuda.synchronize()`): the loop itself synchronises nothing.
"""

import statistics
import time


def median_seconds(call, repeats, *, warmup=False):
  """Median seconds of `repeats` calls of `call()`, after one untimed call when `warmup`."""
  if warmup:
    call()
  times = []
  for _ in range(repeats):
    start = time.perf_counter()
    call()
    times.append(time.perf_counter() - start)
  return statistics.median(times)
