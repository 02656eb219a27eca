"""Pallas kernels for the IAC on NVIDIA GPUs, forward and backward, with a `jax.custom_vjp`.

What one kernel computes (see `reference.py` for the op): one IAC iteration on a
tile of `block_h x block_w` pixels and `block_c` channels,
  out(y, x) = act(bias(y, x) + sum_s h(y, x, s) * vout(y, cx(x + s - p)))
  vout(y, x') = sum_t v(y, x', t) * X(cy(y + t - p), x')
where cy, cx clamp to the image (the reference's replicate padding) and p = (k-1)/2.
Every neighbour is a gather at clamped coordinates, so tiles need not divide the image:
lanes past the edge compute exactly the value of the edge pixel they clamp to and store
it again (identical bytes, no masks). Those twins live in the same program (a tile holds
the edge it overhangs), so the one kernel that reads back what it writes (the compat
backward adds to the filter gradient) loads everything before a barrier and stores after
it: without it, on an H200, a lane of one warp added after its twin in another had stored.

Iteration by iteration. Each iteration must read 2Ck + C filter values per pixel;
reading and writing the C features through memory adds 2C to that (29% for k=3).
Keeping the features on chip across all N iterations would save that, but each tile
then needs a halo of N*(k-1)/2 pixels (17 for the default model) whose filters are
read again, which costs more than it saves for tiles that fit on chip. So each
iteration is one kernel launch inside a `lax.scan` (one compiled kernel for all N:
the iteration index and the activation flag arrive at run time), reading the filters
straight from the `[B, H, W, N*(2Ck) + N*C]` tensor in the reference's channel order
(no transposed copy of the largest tensor).
The backward pass is two kernels per iteration (horizontal pass, then vertical pass),
because the gradient of the features needs the vertical pass's gradient at
neighbouring rows; they write the filter gradient in place (`input_output_aliases`)
into one buffer laid out like the filters.

Lowering: Triton, selected with `pallas.triton.CompilerParams`. We checked both JAX
versions this project runs on: in jax 0.10.2 a bare `pl.pallas_call` lowers to Mosaic
GPU and warns that it is deprecated, while in jax 0.11.2 (the GPU machine)
`pl.pallas_call` has no Mosaic GPU rule left at all (Mosaic GPU kernels go through
`plgpu.kernel`, a different programming model) and lowers to Triton by default, with a
DeprecationWarning that the Triton backend will be removed in a future release. Triton
through `pl.pallas_call` is therefore the one lowering that both versions accept, that
is not tied to Hopper, and that has a CPU interpreter (`interpret=True`)
for tests. When JAX drops it, the kernels port to `plgpu.kernel`; the CUDA lowering
test in CI will say when. Lowering for CUDA on a machine without a GPU needs an
abstract device under jax 0.11 (`jax.sharding.use_abstract_mesh`, see the tests).
What has been checked where: docs/iac_pallas.md.
"""

import dataclasses
import functools
from typing import Literal

import jax
import jax.numpy as jnp
from jax import lax
from jax.experimental import pallas as pl
from jax.experimental.pallas import triton as pltriton

from ifan_jax.ops.activation import NEGATIVE_SLOPE
from ifan_jax.ops.iac import reference
from ifan_jax.ops.iac.layout import Addressing, FilterLayout

Backward = Literal["pallas", "reference"]


def _is_power_of_two(n):
  return n > 0 and n & (n - 1) == 0


@dataclasses.dataclass(frozen=True)
class IACBlockSizes:
  """Work of one Pallas program: a `block_h x block_w` pixel tile times `block_c` channels.

  Triton wants power-of-two tensor sizes, so all three are powers of two; a `block_c`
  above the channel count shrinks to the next power of two that covers it. The tile
  is small because each program holds about k + 3 `[pixels, channels]` tensors in
  registers. `num_warps` and `num_stages` go to Triton.
  """

  block_h: int = 4
  block_w: int = 8
  block_c: int = 128
  num_warps: int = 4
  num_stages: int = 1

  def __post_init__(self):
    for name in ("block_h", "block_w", "block_c", "num_warps"):
      value = getattr(self, name)
      if not _is_power_of_two(value):
        raise ValueError(f"IACBlockSizes.{name}={value} must be a power of two (Triton tensor sizes).")
    if self.num_stages < 1:
      raise ValueError(f"IACBlockSizes.num_stages={self.num_stages} must be at least 1.")


@dataclasses.dataclass(frozen=True)
class _Plan:
  """Everything static about one kernel launch."""

  batch: int
  height: int
  width: int
  channels: int
  filter_size: int
  layout: Addressing
  blocks: IACBlockSizes
  interpret: bool

  @property
  def block_c(self):
    return min(self.blocks.block_c, pl.next_power_of_2(self.channels))

  @property
  def grid(self):
    tiles = pl.cdiv(self.height, self.blocks.block_h) * pl.cdiv(self.width, self.blocks.block_w)
    return (tiles, self.batch, pl.cdiv(self.channels, self.block_c))

  @property
  def pixels(self):
    return self.batch * self.height * self.width


class _Tile:
  """Coordinates of the current program's lanes, clamped to the image, and gather helpers.

  Pixels are rows of `[B*H*W, channels]` arrays; lane coordinates `y`, `x` are `[P, 1]`,
  channels `c` are `[1, TC]`, so every gather is `[P, TC]`.
  """

  def __init__(self, plan: _Plan, step_ref):
    b = plan.blocks
    tile, self.batch, channel_block = pl.program_id(0), pl.program_id(1), pl.program_id(2)
    tiles_w = pl.cdiv(plan.width, b.block_w)
    lane = lax.broadcasted_iota(jnp.int32, (b.block_h * b.block_w, 1), 0)
    self.y = jnp.minimum(lax.div(tile, tiles_w) * b.block_h + lax.div(lane, b.block_w), plan.height - 1)
    self.x = jnp.minimum(lax.rem(tile, tiles_w) * b.block_w + lax.rem(lane, b.block_w), plan.width - 1)
    lanes_c = lax.broadcasted_iota(jnp.int32, (1, plan.block_c), 1)
    self.c = jnp.minimum(channel_block * plan.block_c + lanes_c, plan.channels - 1)
    self.plan, self.iteration, self.act = plan, step_ref[0], step_ref[1] != 0
    self.pad = (plan.filter_size - 1) // 2
    self.here = self.pixel(self.y, self.x)

  def store(self, ref, cols, value):
    """Writes `value` at this program's pixels (`self.here`) and columns `cols`."""
    ref[self.here, cols] = value.astype(ref.dtype)

  def pixel(self, y, x):
    """Row index of pixel (y, x) of this program's image; y and x must be inside the image."""
    return (self.batch * self.plan.height + y) * self.plan.width + x

  def clamp_y(self, y):
    return jnp.clip(y, 0, self.plan.height - 1)

  def clamp_x(self, x):
    return jnp.clip(x, 0, self.plan.width - 1)

  def vertical_cols(self, t):
    lay = self.plan.layout
    return self.iteration * lay.iteration_stride + self.c * lay.channel_stride + t * lay.tap_stride

  def horizontal_cols(self, t):
    return self.vertical_cols(t) + self.plan.layout.horizontal_offset

  def bias_cols(self):
    lay = self.plan.layout
    return lay.bias_offset + self.iteration * lay.bias_iteration_stride + self.c

  def vertical_pass(self, x_ref, f_ref, col):
    """vout at (self.y, col) for a column `col` inside the image."""
    out = 0.0
    for t in range(self.plan.filter_size):
      row = self.clamp_y(self.y + t - self.pad)
      tap = _load(f_ref, self.pixel(self.y, col), self.vertical_cols(t))
      out += tap * _load(x_ref, self.pixel(row, col), self.c)
    return out

  def edge_weighted_sources(self, coord, size):
    """Yields (tap, source coordinate, mask) for the adjoint of a clamped k-tap gather.

    With replicate padding, padded position j reads `clamp(j - pad)`, so position
    `coord` collects the gradient of padded position `coord + pad + e` for e = 0 and,
    at the first (e < 0) or last (e > 0) position, of the pad beyond it; padded
    position j gets it from output `j - tap` (if inside the axis) through tap `tap`.
    """
    for e in range(-self.pad, self.pad + 1):
      at_edge = True if e == 0 else (coord == 0) if e < 0 else (coord == size - 1)
      for t in range(self.plan.filter_size):
        source = coord + self.pad + e - t
        yield t, source, at_edge & (source >= 0) & (source < size)


def _load(ref, rows, cols):
  return ref[rows, cols].astype(jnp.float32)


def _activate(x, act):
  """LeakyReLU where the run-time flag `act` is set (one kernel serves every iteration)."""
  return jnp.where(act & (x < 0), NEGATIVE_SLOPE * x, x)


def _slope(y, act):
  """Derivative of `_activate`, read off its output (which has the sign of its input)."""
  return jnp.where(act & (y < 0), NEGATIVE_SLOPE, 1.0)


def _forward_kernel(step_ref, x_ref, f_ref, out_ref, *, plan):
  tile = _Tile(plan, step_ref)
  out = _load(f_ref, tile.here, tile.bias_cols())
  for s in range(plan.filter_size):
    col = tile.clamp_x(tile.x + s - tile.pad)
    out += _load(f_ref, tile.here, tile.horizontal_cols(s)) * tile.vertical_pass(x_ref, f_ref, col)
  tile.store(out_ref, tile.c, _activate(out, tile.act))


def _backward_horizontal_kernel(step_ref, g_ref, y_ref, x_ref, f_ref, df_in_ref, gv_ref, df_ref, *, plan):
  """Gradients of the bias and horizontal taps, and of vout (written to `gv_ref`)."""
  del df_in_ref  # Aliased to df_ref.
  tile = _Tile(plan, step_ref)

  def pre_activation_grad(rows):
    return _load(g_ref, rows, tile.c) * _slope(_load(y_ref, rows, tile.c), tile.act)

  gs = pre_activation_grad(tile.here)
  tile.store(df_ref, tile.bias_cols(), gs)
  for s in range(plan.filter_size):
    col = tile.clamp_x(tile.x + s - tile.pad)
    tile.store(df_ref, tile.horizontal_cols(s), gs * tile.vertical_pass(x_ref, f_ref, col))
  gv = 0.0
  for s, source, weight in tile.edge_weighted_sources(tile.x, plan.width):
    rows = tile.pixel(tile.y, tile.clamp_x(source))
    gv += jnp.where(weight, _load(f_ref, rows, tile.horizontal_cols(s)) * pre_activation_grad(rows), 0.0)
  tile.store(gv_ref, tile.c, gv)


def _backward_vertical_kernel(step_ref, gv_ref, x_ref, f_ref, df_in_ref, gx_ref, df_ref, *, plan, accumulate):
  """Gradients of the vertical taps (added to the horizontal ones in compat mode) and of the input."""
  del df_in_ref  # Aliased to df_ref.
  tile = _Tile(plan, step_ref)
  gv = _load(gv_ref, tile.here, tile.c)
  taps = range(plan.filter_size)
  dvs = [gv * _load(x_ref, tile.pixel(tile.clamp_y(tile.y + t - tile.pad), tile.x), tile.c) for t in taps]
  if accumulate:
    dvs = [dv + _load(df_ref, tile.here, tile.vertical_cols(t)) for t, dv in zip(taps, dvs)]
    if not plan.interpret:  # The interpreter has no barrier, and no race: it runs the lanes as one array op.
      pltriton.debug_barrier()  # Every lane has read df before any lane writes it (see the module docstring).
  for t, dv in zip(taps, dvs):
    tile.store(df_ref, tile.vertical_cols(t), dv)
  gx = 0.0
  for t, source, weight in tile.edge_weighted_sources(tile.y, plan.height):
    rows = tile.pixel(tile.clamp_y(source), tile.x)
    gx += jnp.where(weight, _load(f_ref, rows, tile.vertical_cols(t)) * _load(gv_ref, rows, tile.c), 0.0)
  tile.store(gx_ref, tile.c, gx)


def _launch(kernel, plan, name, out_shape, *args, input_output_aliases=None):
  return pl.pallas_call(
    kernel,
    out_shape=out_shape,
    grid=plan.grid,
    name=name,
    interpret=plan.interpret,
    input_output_aliases=input_output_aliases or {},
    compiler_params=pltriton.CompilerParams(num_warps=plan.blocks.num_warps, num_stages=plan.blocks.num_stages),
  )(*args)


def _step_array(i, act):
  """What a kernel learns at run time: iteration i (its filter slab) and whether to activate."""
  return jnp.stack([jnp.asarray(i, jnp.int32), jnp.asarray(act, jnp.int32)])


def _forward_step(plan, step, x, f):
  kernel = functools.partial(_forward_kernel, plan=plan)
  return _launch(kernel, plan, "iac_forward", jax.ShapeDtypeStruct(x.shape, x.dtype), step, x, f)


def _backward_step(plan, compat, step, g, y, x, f, df):
  """Gradient of one iteration: returns the input's gradient and `df` with its slab filled in."""
  kernel = functools.partial(_backward_horizontal_kernel, plan=plan)
  gv, df = _launch(
    kernel,
    plan,
    "iac_backward_horizontal",
    (jax.ShapeDtypeStruct(x.shape, jnp.float32), jax.ShapeDtypeStruct(df.shape, df.dtype)),
    step,
    g,
    y,
    x,
    f,
    df,
    input_output_aliases={5: 1},
  )
  kernel = functools.partial(_backward_vertical_kernel, plan=plan, accumulate=compat)
  return _launch(
    kernel,
    plan,
    "iac_backward_vertical",
    (jax.ShapeDtypeStruct(x.shape, x.dtype), jax.ShapeDtypeStruct(df.shape, df.dtype)),
    step,
    gv,
    x,
    f,
    df,
    input_output_aliases={4: 1},
  )


@dataclasses.dataclass(frozen=True)
class _Spec:
  """The static half of a call of the whole op (custom_vjp's non-differentiable argument)."""

  plan: _Plan
  iterations: int
  act_last: bool
  compat: bool
  backward: Backward

  def unflatten(self, a):
    p = self.plan
    return a.reshape(p.batch, p.height, p.width, a.shape[-1])

  def step(self, i):
    return _step_array(i, self.act_last | (i < self.iterations - 1))


def _forward(spec, x, f):
  """All iterations; returns the output and the N+1 feature maps that the backward pass reads."""

  def body(x, i):
    return _forward_step(spec.plan, spec.step(i), x, f), x

  out, inputs = lax.scan(body, x, jnp.arange(spec.iterations, dtype=jnp.int32))
  return out, jnp.concatenate([inputs, out[None]])


@functools.partial(jax.custom_vjp, nondiff_argnums=(0,))
def _iac_rows(spec, x, f):
  return _forward(spec, x, f)[0]


def _iac_rows_fwd(spec, x, f):
  out, states = _forward(spec, x, f)
  return out, (states, f)


def _iac_rows_bwd(spec, residuals, g):
  states, f = residuals
  if spec.backward == "reference":

    def by_definition(x, f):
      out = reference.iac_reference(
        spec.unflatten(x),
        spec.unflatten(f),
        iterations=spec.iterations,
        filter_size=spec.plan.filter_size,
        compat=spec.compat,
        act_last=spec.act_last,
      )
      return out.reshape(x.shape)

    return jax.vjp(by_definition, states[0], f)[1](g)

  def body(carry, i):
    g, df = carry
    return _backward_step(spec.plan, spec.compat, spec.step(i), g, states[i + 1], states[i], f, df), None

  (g, df), _ = lax.scan(body, (g, jnp.zeros_like(f)), jnp.arange(spec.iterations, dtype=jnp.int32), reverse=True)
  return g, df


_iac_rows.defvjp(_iac_rows_fwd, _iac_rows_bwd)


def _plan(features, layout, filter_size, block_sizes, interpret):
  b, h, w, c = features.shape
  if not jnp.issubdtype(features.dtype, jnp.floating):
    raise ValueError(f"IAC features must be floating point, got dtype {features.dtype}.")
  return _Plan(
    batch=b,
    height=h,
    width=w,
    channels=c,
    filter_size=filter_size,
    layout=layout,
    blocks=block_sizes,
    interpret=bool(interpret),
  )


def _check_backward(backward):
  if backward not in ("pallas", "reference"):
    raise ValueError(f"Unknown IAC backward {backward!r}; expected 'pallas' or 'reference'.")


@functools.partial(
  jax.jit, static_argnames=("iterations", "filter_size", "compat", "act_last", "block_sizes", "interpret", "backward")
)
def iac_pallas(
  features,
  filters,
  *,
  iterations,
  filter_size,
  compat=False,
  act_last=True,
  block_sizes: IACBlockSizes = IACBlockSizes(),
  interpret=False,
  backward: Backward = "pallas",
):
  """IAC with the Pallas kernel: same arguments and result as `iac_reference`.

  `interpret=True` runs the kernels in Pallas's interpreter (CPU tests); `backward`
  picks the gradient: the Pallas kernels or `jax.vjp` of `iac_reference`.
  """
  c, k = features.shape[-1], filter_size
  layout = FilterLayout(c, iterations, k)
  layout.check(features.shape, filters.shape)
  _check_backward(backward)
  plan = _plan(features, layout.addressing(compat), k, block_sizes, interpret)
  spec = _Spec(plan=plan, iterations=iterations, act_last=act_last, compat=compat, backward=backward)
  out = _iac_rows(spec, features.reshape(plan.pixels, c), filters.reshape(plan.pixels, -1))
  return spec.unflatten(out)


@dataclasses.dataclass(frozen=True)
class _StepSpec:
  plan: _Plan
  act: bool
  compat: bool
  backward: Backward


@functools.partial(jax.custom_vjp, nondiff_argnums=(0,))
def _step_rows(spec, x, slab):
  return _forward_step(spec.plan, _step_array(0, spec.act), x, slab)


def _step_rows_fwd(spec, x, slab):
  y = _forward_step(spec.plan, _step_array(0, spec.act), x, slab)
  return y, (x, y, slab)


def _step_rows_bwd(spec, residuals, g):
  x, y, slab = residuals
  if spec.backward == "reference":
    return jax.vjp(functools.partial(_step_reference, spec), x, slab)[1](g)
  return _backward_step(spec.plan, spec.compat, _step_array(0, spec.act), g, y, x, slab, jnp.zeros_like(slab))


_step_rows.defvjp(_step_rows_fwd, _step_rows_bwd)


def _step_reference(spec, x, slab):
  """`reference.iac_step` on `[pixels, C]` rows and a head-layout slab."""
  p = spec.plan
  lead = (p.batch, p.height, p.width)
  passes = FilterLayout(p.channels, 1, p.filter_size).head_passes(slab.reshape(*lead, -1), spec.compat)
  return reference.iac_step(x.reshape(*lead, p.channels), *passes, spec.act).reshape(x.shape)


def iac_step_pallas(
  features,
  slab,
  *,
  filter_size,
  compat,
  act,
  block_sizes: IACBlockSizes = IACBlockSizes(),
  interpret=False,
  backward: Backward = "pallas",
):
  """One IAC iteration with the Pallas kernel, filters given as one iteration of the fused head.

  `slab` is `[B, H, W, m]` in `FilterLayout.head_iteration_major`'s column order: vertical
  taps `[k, C]`, horizontal taps `[k, C]` (absent when `compat`), bias `[C]`.
  """
  c, k = features.shape[-1], filter_size
  layout = FilterLayout(c, 1, k).head_addressing(compat)
  if slab.shape[:-1] != features.shape[:-1] or slab.shape[-1] != layout.width:
    raise ValueError(
      f"IAC head slab {slab.shape} does not fit features {features.shape}: it needs "
      f"{layout.width} channels for C={c}, k={k}, compat={compat}."
    )
  _check_backward(backward)
  plan = _plan(features, layout, k, block_sizes, interpret)
  spec = _StepSpec(plan=plan, act=act, compat=compat, backward=backward)
  out = _step_rows(spec, features.reshape(plan.pixels, c), slab.reshape(plan.pixels, -1))
  return out.reshape(features.shape)
