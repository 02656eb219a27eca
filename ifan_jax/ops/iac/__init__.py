"""Iterative adaptive convolution (IAC): per-pixel separable filters, applied N times.

Layout (NHWC). Features are `[B, H, W, C]`; filters are `[B, H, W, N*(2*C*k) + N*C]` in
the reference's channel order (`layout.FilterLayout` says where each value lives).
One iteration: a vertical k-tap pass, a horizontal k-tap pass (both with replicate
padding), plus the bias, then LeakyReLU(0.1) (skipped after the last iteration when
`act_last=False`). `compat=True` reproduces the published checkpoints, whose
horizontal pass reuses the vertical kernel.

Implementations: `reference` (plain loop, the definition), `xla` (one `lax.scan`) and
`pallas` (Triton kernels for NVIDIA GPUs, with a CPU interpreter for tests); `dispatch`
picks one (`iac`, `iac_fused`, `resolve_impl`).
"""

from ifan_jax.ops.iac.dispatch import Impl, iac, iac_fused, resolve_impl
from ifan_jax.ops.iac.layout import FilterLayout
from ifan_jax.ops.iac.pallas import IACBlockSizes
from ifan_jax.ops.iac.reference import iac_reference

__all__ = ["FilterLayout", "IACBlockSizes", "Impl", "iac", "iac_fused", "iac_reference", "resolve_impl"]
