"""The official code's outputs on this device: the golden small checkpoint through our model, each IAC implementation.

On a GPU, XLA computes float32 convolutions and matrix products in TF32 at its default precision,
so the gap to the golden output (computed in float32 on a CPU) is measured at that precision and at
"highest"; the tolerance is the one our tests hold on the CPU (`tests/models`, 1e-4).
"""

import functools

import jax
import numpy as np

from benchmarks.gpu_parts import measure
from ifan_jax import IFAN
from ifan_jax.saved_models import any_model
from tests.conftest import GOLDEN, load_npz

TOLERANCE = 1e-4


def _gap(network, params, golden, precision):
  with jax.default_matmul_precision(precision):
    result = jax.jit(network.apply)({"params": params}, golden["C"])["result"]
  gap = float(np.max(np.abs(np.asarray(result) - golden["result_inference"])))
  return dict(kind="check", max_abs_diff=gap, tolerance=TOLERANCE, ok=gap <= TOLERANCE)


def golden_inference(recorder, sizes, options):
  del sizes, options
  recorder.add("device", "parity", **measure.device_summary())
  golden = load_npz(GOLDEN / "ifan_small_io.npz")
  model = any_model.load(GOLDEN / "ifan_small.pytorch", filter_size=5)
  impls = ("xla", "pallas") if jax.default_backend() == "gpu" else ("xla",)
  for impl in impls:
    network = IFAN(model.config.replace(iac_impl=impl))
    for precision in ("default", "highest"):
      recorder.run(
        f"golden ifan_small inference 64x96 {impl} precision={precision}",
        functools.partial(_gap, network, model.network, golden, precision),
        impl=impl,
        precision=precision,
      )
