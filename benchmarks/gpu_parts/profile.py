"""Where the device time of one inference goes: JAX's profiler trace, summed per XLA op and per kind of op.

The trace's device planes (`/device:GPU:0`) hold one line of XLA ops and lines of kernels per stream;
on a CPU the ops are on the host plane's XLA threads, which the rehearsal reads the same way.
"""

import collections
import functools
import pathlib
import re
import tempfile

import jax
import jax.numpy as jnp

from benchmarks.gpu_parts import measure
from benchmarks.gpu_parts.model import training_config
from ifan_jax import IFAN
from ifan_jax.training import step as step_lib

TOP = 25


def _kind(name):
  """An op's name without its number ("fusion.12" -> "fusion"; "%convolution.3" -> "convolution")."""
  return re.sub(r"[.:]\d+$", "", name.lstrip("%")).split(" ")[0]


def summarize(trace_dir, runs):
  """{line kind: [(op name, ms per run, calls per run)]} of the device planes (or the host's XLA lines on a CPU)."""
  path = next(pathlib.Path(trace_dir).rglob("*.xplane.pb"))
  planes = list(jax.profiler.ProfileData.from_file(str(path)).planes)
  devices = [p for p in planes if p.name.startswith("/device:")]
  host = not devices
  by_line = collections.defaultdict(collections.Counter)
  calls = collections.defaultdict(collections.Counter)
  for plane in devices or [p for p in planes if p.name == "/host:CPU"]:
    for line in plane.lines:
      if host and not line.name.startswith("tf_XLA"):
        continue  # The host's Python and client threads: not the computation.
      group = "XLA threads" if host else "streams" if line.name.startswith("Stream") else line.name
      for event in line.events:
        by_line[group][event.name] += event.duration_ns
        calls[group][event.name] += 1
  summary = {}
  for group, totals in by_line.items():
    kinds = collections.Counter()
    for name, ns in totals.items():
      kinds[_kind(name)] += ns
    summary[group] = dict(
      total_ms=sum(totals.values()) / 1e6 / runs,
      top=[(name, ns / 1e6 / runs, calls[group][name] // runs) for name, ns in totals.most_common(TOP)],
      kinds=[(kind, ns / 1e6 / runs) for kind, ns in kinds.most_common(TOP)],
    )
  return summary


def _profile(model, params, image, runs):
  forward = jax.jit(lambda p, x: model.apply({"params": p}, x)["result"])
  jax.block_until_ready(forward(params, image))
  with tempfile.TemporaryDirectory() as trace_dir:
    with jax.profiler.trace(trace_dir):
      for _ in range(runs):
        jax.block_until_ready(forward(params, image))
    lines = summarize(trace_dir, runs)
  busiest = max(lines, key=lambda g: lines[g]["total_ms"]) if lines else None
  chosen = "XLA Ops" if "XLA Ops" in lines else busiest
  return dict(
    kind="profile",
    line=chosen,
    lines={g: round(v["total_ms"], 3) for g, v in lines.items()},
    **({k: v for k, v in lines[chosen].items()} if chosen else {}),
  )


def inference(recorder, sizes, options):
  """The first image size, float32 and bfloat16, XLA's IAC: device time per op, summed over a few runs."""
  del options
  recorder.add("device", "profile", **measure.device_summary())
  config = step_lib.model_config(training_config(sizes)).replace(iac_compat=True)
  # Drawn on the host CPU (step_lib.init_params), then put on the device once, as Deblurrer does.
  params = jax.device_put(step_lib.init_params(training_config(sizes), jax.random.key(0))["network"], jax.devices()[0])
  width, height = sizes.image_sizes[0]
  image = jax.random.uniform(jax.random.key(1), (1, height, width, 3), jnp.float32)
  for dtype in ("float32", "bfloat16"):
    model = IFAN(config.replace(dtype=dtype, iac_impl="xla"))
    recorder.run(
      f"profile of IFAN inference {width}x{height} {dtype} xla",
      functools.partial(_profile, model, params, image, runs=3),
      size=f"{width}x{height}",
      dtype=dtype,
      impl="xla",
    )
