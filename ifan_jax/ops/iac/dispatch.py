"""`iac` and `iac_fused` on the implementation a caller (or a model config's `iac_impl`) asks for."""

from typing import Literal

from ifan_jax.ops.iac.layout import FilterLayout
from ifan_jax.ops.iac.pallas import Backward, IACBlockSizes, iac_pallas, iac_step_pallas
from ifan_jax.ops.iac.reference import iac_reference
from ifan_jax.ops.iac.xla import fused_head_scan, iac_xla

Impl = Literal["auto", "xla", "reference", "pallas"]
IMPLS = ("auto", "xla", "reference", "pallas")


def resolve_impl(impl: Impl, interpret=False) -> str:
  """ "auto" -> XLA, or the Pallas kernel when `interpret` asks for it.

  "auto" stays on XLA on GPUs too: on an H200 the kernel beat the XLA op alone but not inside the
  model (docs/iac_pallas.md, Status).
  """
  if impl not in IMPLS:
    raise ValueError(f"Unknown IAC impl {impl!r}; expected 'auto', 'xla', 'reference' or 'pallas'.")
  if impl == "auto":
    impl = "pallas" if interpret else "xla"
  if interpret and impl != "pallas":
    raise ValueError(f"IAC interpret=True runs the Pallas kernel's interpreter; it has no meaning for impl={impl!r}.")
  return impl


def iac(
  features,
  filters,
  *,
  iterations,
  filter_size,
  compat=False,
  act_last=True,
  impl: Impl = "auto",
  block_sizes: IACBlockSizes = IACBlockSizes(),
  interpret=False,
  backward: Backward = "pallas",
):
  """Applies IAC. `impl`: "xla" (scan), "reference" (plain loop) or "pallas" (GPU kernel).

  "auto" picks "xla" (see `resolve_impl`). `block_sizes`, `interpret` (run the kernel in
  Pallas's CPU interpreter) and `backward` ("pallas" kernels or `jax.vjp` of the
  reference) only apply to the Pallas kernel.
  """
  kwargs = dict(iterations=iterations, filter_size=filter_size, compat=compat, act_last=act_last)
  impl = resolve_impl(impl, interpret)
  if impl == "xla":
    return iac_xla(features, filters, **kwargs)
  if impl == "reference":
    return iac_reference(features, filters, **kwargs)
  return iac_pallas(features, filters, **kwargs, block_sizes=block_sizes, interpret=interpret, backward=backward)


def iac_fused(
  features,
  predictor_features,
  head_kernel,
  head_bias,
  *,
  iterations,
  filter_size,
  compat=False,
  act_last=True,
  impl: Impl = "auto",
  block_sizes: IACBlockSizes = IACBlockSizes(),
  interpret=False,
  backward: Backward = "pallas",
):
  """IAC whose filters come from a 1x1 conv head, computed one iteration at a time.

  Equals `iac(features, predictor_features @ head_kernel + head_bias, ...)` but never
  materialises the filter tensor (1.8 GB at 1680x1120 for the default model): each scan
  step runs the head's columns for its own iteration. `head_kernel` is `[D, total]` in the
  reference's channel order. With `impl="pallas"` each step's filters go to the Pallas
  kernel; "reference" runs the same scan as "xla".
  """
  layout = FilterLayout(features.shape[-1], iterations, filter_size)
  layout.check(features.shape, (*features.shape[:3], head_kernel.shape[-1]))
  weights, biases = layout.head_iteration_major(head_kernel, head_bias, compat)
  step = None
  if resolve_impl(impl, interpret) == "pallas":

    def step(x, slab, act):
      return iac_step_pallas(
        x,
        slab,
        filter_size=filter_size,
        compat=compat,
        act=act,
        block_sizes=block_sizes,
        interpret=interpret,
        backward=backward,
      )

  return fused_head_scan(
    features, predictor_features, layout, weights, biases, compat=compat, act_last=act_last, step=step
  )
