"""The IAC alone: the Pallas kernel's correctness on the device, then its speed against XLA's and the roofline."""

import functools

import jax
import jax.numpy as jnp

from benchmarks import costs
from benchmarks.gpu_parts import measure
from ifan_jax import ops
from tests.ops import iac_cases


def _on_cpu():
  return jax.default_backend() == "cpu"


def _compare(outputs, pair):
  kernel, expected = pair()
  diffs = {what: iac_cases.max_abs_diff(a, b) for what, a, b in zip(outputs, kernel, expected)}
  worst = max(diffs.values())
  figures = {f"max_abs_diff {what}": diff for what, diff in diffs.items()}
  return dict(kind="check", **figures, max_abs_diff=worst, tolerance=iac_cases.TOL, ok=bool(worst <= iac_cases.TOL))


def check(recorder, sizes, options):
  """The test suite's odd-size cases and the fused head: kernel against definition, output and both gradients.

  On a CPU the kernels run in Pallas's interpreter (the rehearsal); elsewhere compiled.
  """
  del sizes, options
  interpret = _on_cpu()
  for case in iac_cases.CASES:
    pair = functools.partial(iac_cases.kernel_and_definition, case, interpret=interpret)
    name = f"pallas kernel vs iac_reference {iac_cases.case_id(case)}"
    recorder.run(name, functools.partial(_compare, iac_cases.OUTPUTS, pair))
  for compat in (False, True):
    pair = functools.partial(iac_cases.fused_kernel_and_xla, compat, interpret=interpret)
    recorder.run(
      f"pallas fused head vs xla compat={compat}", functools.partial(_compare, iac_cases.FUSED_OUTPUTS, pair)
    )


def _inputs(shape, sizes):
  n, k = sizes.iac_iterations, sizes.iac_filter_size
  keys = jax.random.split(jax.random.key(0), 3)
  features = jax.random.normal(keys[0], shape, jnp.float32)
  filters = 0.1 * jax.random.normal(keys[1], (*shape[:3], ops.FilterLayout(shape[-1], n, k).total), jnp.float32)
  return features, filters, jax.random.normal(keys[2], shape, jnp.float32)


def _forward(impl, sizes):
  interpret = impl == "pallas" and _on_cpu()
  return lambda x, f: ops.iac(
    x, f, iterations=sizes.iac_iterations, filter_size=sizes.iac_filter_size, impl=impl, interpret=interpret
  )


def _forward_backward(impl, sizes):
  def run(x, f, g):
    out, pullback = jax.vjp(_forward(impl, sizes), x, f)
    return out, *pullback(g)

  return run


def _copy(sizes):
  x = jax.random.normal(jax.random.key(1), (sizes.copy_mib * 2**18,), jnp.float32)
  figures = measure.time_jitted(lambda x: x * 1.5, x, repeats=sizes.repeats)
  return dict(kind="bandwidth", gbs=2 * x.nbytes / (figures["ms"] * 1e-3) / 1e9, ms=figures["ms"])


def _time_iac(fn, args, ideal, peak, repeats):
  figures = measure.time_jitted(fn, *args, repeats=repeats)
  gbs = ideal / (figures["ms"] * 1e-3) / 1e9
  return dict(**figures, ideal_gb=ideal / 1e9, gbs=gbs, peak_gbs=peak, share=gbs / peak if peak else None)


def timings(recorder, sizes, options):
  """Forward and forward+backward, XLA and Pallas, with the bytes an ideal IAC moves per second.

  First a large elementwise pass (bytes read + written): the bandwidth a kernel can reach in practice.
  """
  recorder.add("device", "iac_time", **measure.device_summary())
  recorder.run("device-to-device copy", functools.partial(_copy, sizes), mib=sizes.copy_mib)
  peak = options.get("peak_gbs") or costs.peak_gbs(jax.devices()[0].device_kind)
  n, k = sizes.iac_iterations, sizes.iac_filter_size
  for shape in sizes.iac_shapes:
    inputs = _inputs(shape, sizes)
    for backward in (False, True):
      ideal = costs.iac_ideal_bytes(shape, n, k, 4, backward=backward)
      what = "forward+backward" if backward else "forward"
      for impl in ("xla", "pallas"):
        fn, args = (_forward_backward(impl, sizes), inputs) if backward else (_forward(impl, sizes), inputs[:2])
        shape_text = "x".join(map(str, shape))
        recorder.run(
          f"iac {shape_text} N={n} k={k} float32 {what} {impl}",
          functools.partial(_time_iac, fn, args, ideal, peak, sizes.repeats),
          shape=shape_text,
          what=what,
          impl=impl,
        )
