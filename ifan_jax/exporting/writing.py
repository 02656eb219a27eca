"""Writing an export to a file: what `python -m ifan_jax.export` runs.

Errors are ValueError, OSError or ImportError naming the flag, the file or the package to install,
which the command prints as they are.
"""

import os

from ifan_jax.exporting import forward, jax_format, onnx_format
from ifan_jax.inference.deblurrer import Deblurrer

FORMATS = ("jax", "onnx")


def check_export_options(fmt, dtype, platforms=jax_format.DEFAULT_PLATFORMS):
  """A ValueError for a format, dtype or platform that cannot be exported: the command asks before the
  model loads."""
  if fmt not in FORMATS:
    raise ValueError(f"Unknown export format {fmt!r}; expected one of {', '.join(FORMATS)}.")
  forward.check_dtype(dtype)
  jax_format.check_platforms(platforms)
  if fmt == "onnx" and dtype != "float32":
    raise ValueError(f"--format onnx exports float32 only, got --dtype {dtype}; use --format jax for bfloat16.")


def export_bytes(deblurrer, *, fmt="jax", dtype="float32", platforms=jax_format.DEFAULT_PLATFORMS) -> bytes:
  """The serialized export of `deblurrer` in format `fmt` ("jax" or "onnx")."""
  check_export_options(fmt, dtype, platforms)
  if fmt == "onnx":
    return onnx_format.export(deblurrer)
  return jax_format.serialize(jax_format.export(deblurrer, dtype=dtype, platforms=tuple(platforms)))


def _check_out(out, overwrite):
  """Refuses an `--out` that cannot be written or would replace a file unasked, before the model loads."""
  folder = os.path.dirname(os.path.abspath(out))
  if not os.path.isdir(folder):
    raise FileNotFoundError(f"--out {out}: the folder {folder} does not exist.")
  if os.path.isdir(out):
    raise IsADirectoryError(
      f"--out {out} is a folder: name the file to write in it, e.g. {os.path.join(out, 'ifan.jax')}."
    )
  if os.path.lexists(out) and not overwrite:
    raise FileExistsError(f"--out {out} already exists; pass --overwrite to replace it.")


def export_file(checkpoint, out, *, fmt, dtype, overwrite=False, **options) -> int:
  """Writes the export of `checkpoint` (`export_bytes`' `fmt`, `dtype` and `options`) to `out`; returns
  its size in bytes.

  The options and `out` are checked, and its partial file opened beside it, before the model loads,
  so a bad flag is named at once; the file is renamed to `out` once written, so a failed export
  leaves no partial file under the name asked for.
  """
  check_export_options(fmt, dtype, options.get("platforms", jax_format.DEFAULT_PLATFORMS))
  _check_out(out, overwrite)
  partial = f"{out}.partial"
  try:
    with open(partial, "wb"):  # Whether the folder takes a file, asked before the model loads.
      pass
  except OSError as e:
    raise OSError(f"--out {out}: cannot write in {os.path.dirname(os.path.abspath(out))} ({e.strerror}).") from e
  try:
    data = export_bytes(Deblurrer.from_checkpoint(checkpoint), fmt=fmt, dtype=dtype, **options)
    with open(partial, "wb") as f:
      f.write(data)
    os.replace(partial, out)
  except BaseException:
    os.remove(partial)
    raise
  return len(data)
