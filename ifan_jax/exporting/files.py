"""Writing an export to a file: what `python -m ifan_jax.export` runs.

Errors are ValueError, OSError or ImportError naming the flag, the file or the package to install,
which the command prints as they are.
"""

import os

from ifan_jax.exporting import jax_format, onnx_format
from ifan_jax.inference.deblurrer import Deblurrer

FORMATS = ("jax", "onnx")


def export_bytes(deblurrer, *, fmt="jax", dtype="float32", platforms=jax_format.DEFAULT_PLATFORMS) -> bytes:
  """The serialized export of `deblurrer` in format `fmt` ("jax" or "onnx")."""
  if fmt not in FORMATS:
    raise ValueError(f"Unknown export format {fmt!r}; expected one of {', '.join(FORMATS)}.")
  if fmt == "onnx":
    if dtype != "float32":
      raise ValueError(f"--format onnx exports float32 only, got --dtype {dtype}; use --format jax for bfloat16.")
    return onnx_format.export(deblurrer)
  return jax_format.serialize(jax_format.export(deblurrer, dtype=dtype, platforms=tuple(platforms)))


def export_file(checkpoint, out, **options) -> int:
  """Writes the export of `checkpoint` (`export_bytes`' `options`) to `out`; returns its size in bytes.

  The folder is checked before the model loads, and the file is written beside `out` first and then
  renamed, so a failed export leaves no partial file under the name asked for.
  """
  folder = os.path.dirname(os.path.abspath(out))
  if not os.path.isdir(folder):
    raise FileNotFoundError(f"--out {out}: the folder {folder} does not exist.")
  data = export_bytes(Deblurrer.from_checkpoint(checkpoint), **options)
  partial = f"{out}.partial"
  with open(partial, "wb") as f:
    f.write(data)
  os.replace(partial, out)
  return len(data)
