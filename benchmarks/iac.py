r"""Times the IAC (XLA scan vs Pallas kernel) and IFAN's whole-model inference.

On a GPU (what the numbers are for):
  python -m benchmarks.iac
On a CPU, to check that the script runs (Pallas needs a GPU; its interpreter is far
too slow for these sizes):
  python -m benchmarks.iac --impls=xla --iac_shapes=1x35x52x128 --image_sizes=320x176 \
      --repeats=2

For each IAC shape it first prints how far each implementation's output and gradients
are from the first one's, then, per implementation, the median time of the forward pass
and of forward+backward, and the achieved bandwidth: the bytes an ideal
implementation must move divided by the time, also as a share of the device's peak.
Ideal bytes: the forward reads the features and the filters and writes the output
(2C + F values per pixel, F = N*(2Ck) + N*C); forward+backward adds a backward that
reads the filters, the features and the output's gradient and writes the gradients
of both (2F + 3C). The whole-model rows time `IFAN.apply` in inference (fused filter
head) on random weights.
"""

import dataclasses
import statistics
import time

import jax
import jax.numpy as jnp
from absl import app, flags, logging
from tqdm import tqdm

from ifan_jax import IFAN, IFANConfig, ops

FLAGS = flags.FLAGS
flags.DEFINE_list("impls", ["xla", "pallas"], "IAC implementations to time (ifan_jax.ops.iac's impl).")
flags.DEFINE_list(
  "iac_shapes",
  ["1x140x210x128", "8x32x32x128"],
  "IAC feature shapes BxHxWxC: DPDD full resolution at 1/8, and a training batch.",
)
flags.DEFINE_integer("iterations", 17, "IAC iterations N.")
flags.DEFINE_integer("filter_size", 3, "IAC filter size k.")
flags.DEFINE_bool("compat", False, "Time the published (compat) IAC instead of the corrected one.")
flags.DEFINE_enum("iac_dtype", "float32", ["float32", "bfloat16"], "Dtype of the IAC inputs.")
flags.DEFINE_list("image_sizes", ["1280x720", "1680x1120"], "Whole-model image sizes WxH (multiples of 8).")
flags.DEFINE_list("model_dtypes", ["float32", "bfloat16"], "Whole-model compute dtypes.")
flags.DEFINE_integer("repeats", 10, "Timed runs per case (after one warm-up run); the median is printed.")
flags.DEFINE_float("peak_gbs", None, "Peak memory bandwidth in GB/s; default: looked up from the device.")

# Data-sheet peaks (GB/s). A device-to-device copy measured about 3000 (H100) and 4300 (H200) here.
PEAK_GBS = {"H100": 3350.0, "H200": 4800.0, "A100": 2039.0}


@dataclasses.dataclass(frozen=True)
class Timing:
  what: str
  impl: str
  seconds: float
  ideal_bytes: int | None = None

  def line(self, peak_gbs):
    text = f"{self.what:<52} {self.impl:<9} {self.seconds * 1e3:10.3f} ms"
    if self.ideal_bytes is not None:
      gbs = self.ideal_bytes / self.seconds / 1e9
      share = f" ({100 * gbs / peak_gbs:5.1f}% of {peak_gbs:.0f} GB/s)" if peak_gbs else ""
      text += f" {gbs:9.1f} GB/s{share}"
    return text


def median_seconds(fn, *args, repeats):
  """Median wall time of a compiled call, after one warm-up run."""
  compiled = jax.jit(fn).lower(*args).compile()
  jax.block_until_ready(compiled(*args))
  times = []
  for _ in range(repeats):
    start = time.perf_counter()
    jax.block_until_ready(compiled(*args))
    times.append(time.perf_counter() - start)
  return statistics.median(times)


def parse_shape(text, parts):
  try:
    values = tuple(int(v) for v in text.lower().split("x"))
  except ValueError:
    values = ()
  if len(values) != parts or min(values) < 1:
    raise app.UsageError(f"Bad size {text!r}: expected {parts} positive integers joined by 'x'.")
  return values


def iac_inputs(shape):
  """Random features, filters and output cotangent for features of `shape`."""
  n, k, dtype = FLAGS.iterations, FLAGS.filter_size, jnp.dtype(FLAGS.iac_dtype)
  keys = jax.random.split(jax.random.key(0), 3)
  features = jax.random.normal(keys[0], shape, dtype)
  filters_shape = (*shape[:3], ops.FilterLayout(shape[-1], n, k).total)
  filters = (0.1 * jax.random.normal(keys[1], filters_shape, jnp.float32)).astype(dtype)
  return features, filters, jax.random.normal(keys[2], shape, dtype)


def iac_forward(impl):
  return lambda x, filters: ops.iac(
    x, filters, iterations=FLAGS.iterations, filter_size=FLAGS.filter_size, compat=FLAGS.compat, impl=impl
  )


def iac_forward_backward(impl):
  def run(x, filters, g):
    out, pullback = jax.vjp(iac_forward(impl), x, filters)
    return out, *pullback(g)

  return run


def iac_name(shape):
  return f"iac {'x'.join(map(str, shape))} N={FLAGS.iterations} k={FLAGS.filter_size} {FLAGS.iac_dtype}"


def iac_timings(shape, impl):
  features, filters, cotangent = iac_inputs(shape)
  b, h, w, c = shape
  f = filters.shape[-1]
  pixel_bytes = b * h * w * features.dtype.itemsize
  return [
    Timing(
      f"{iac_name(shape)} forward",
      impl,
      median_seconds(iac_forward(impl), features, filters, repeats=FLAGS.repeats),
      pixel_bytes * (2 * c + f),
    ),
    Timing(
      f"{iac_name(shape)} forward+backward",
      impl,
      median_seconds(iac_forward_backward(impl), features, filters, cotangent, repeats=FLAGS.repeats),
      pixel_bytes * (2 * c + f + 2 * f + 3 * c),
    ),
  ]


def iac_agreement(shape):
  """Largest |difference| of the output and both gradients between the first impl and each other."""
  inputs = iac_inputs(shape)
  first, *others = [jax.jit(iac_forward_backward(impl))(*inputs) for impl in FLAGS.impls]
  for impl, results in zip(FLAGS.impls[1:], others):
    diffs = [float(jnp.max(jnp.abs(a.astype(jnp.float32) - b.astype(jnp.float32)))) for a, b in zip(first, results)]
    tqdm.write(
      f"{iac_name(shape)}: max |{impl} - {FLAGS.impls[0]}| output {diffs[0]:.2e}, "
      f"features grad {diffs[1]:.2e}, filters grad {diffs[2]:.2e}"
    )


def model_timing(size, dtype, impl):
  width, height = size
  model = IFAN(IFANConfig(dtype=dtype, iac_impl=impl))
  variables = jax.jit(model.init)(jax.random.key(0), jnp.zeros((1, 64, 64, 3), jnp.float32))
  image = jax.random.uniform(jax.random.key(1), (1, height, width, 3), jnp.float32)
  seconds = median_seconds(lambda v, x: model.apply(v, x)["result"], variables, image, repeats=FLAGS.repeats)
  return Timing(f"IFAN inference {width}x{height} {dtype}", impl, seconds)


def peak_bandwidth():
  if FLAGS.peak_gbs:
    return FLAGS.peak_gbs
  kind = jax.devices()[0].device_kind
  return next((gbs for name, gbs in PEAK_GBS.items() if name in kind), None)


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
  if "pallas" in FLAGS.impls and jax.default_backend() != "gpu":
    raise app.UsageError(
      f"The Pallas kernel needs a GPU (backend here: {jax.default_backend()}); "
      "pass --impls=xla to check the script on a CPU."
    )
  iac_shapes = [parse_shape(s, 4) for s in FLAGS.iac_shapes]
  image_sizes = [parse_shape(s, 2) for s in FLAGS.image_sizes]
  for width, height in image_sizes:
    if width % 8 or height % 8:
      raise app.UsageError(f"Image size {width}x{height} must be a multiple of 8 in both directions.")
  peak = peak_bandwidth()
  print(
    f"device: {jax.devices()[0].device_kind} ({jax.default_backend()}), jax {jax.__version__}, "
    f"peak {peak or 'unknown'} GB/s"
  )
  cases = [(iac_agreement, (shape,)) for shape in iac_shapes if len(FLAGS.impls) > 1]
  cases += [(iac_timings, (shape, impl)) for shape in iac_shapes for impl in FLAGS.impls]
  cases += [
    (model_timing, (size, dtype, impl)) for size in image_sizes for dtype in FLAGS.model_dtypes for impl in FLAGS.impls
  ]
  for run, args in tqdm(cases, desc="benchmarks"):
    logging.info("Timing %s%s", run.__name__, args)
    result = run(*args)
    for timing in result if isinstance(result, list) else [result] if result else []:
      tqdm.write(timing.line(peak))


if __name__ == "__main__":
  app.run(main)
