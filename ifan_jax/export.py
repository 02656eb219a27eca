r"""Export a model that runs without ifan_jax: `python -m ifan_jax.export --checkpoint PATH --out FILE`.

  --format jax    a `jax.export` artifact (the default): load it with `jax.export.deserialize` in any
                  Python with jax and flatbuffers; `--dtype bfloat16` computes in bfloat16.
  --format onnx   an ONNX model for onnxruntime, converted by jax2onnx (float32).

The exported function takes `image` ([1, 8h, 8w, 3] float32 in [0, 1]; also `left` and `right` for
the dual-pixel model) and returns `result` ([1, 8h, 8w, 3]) and `disparity` ([1, h, w, 1]); pad
other sizes first (docs/user_guide.md, "Deploy", has the snippet).

  python -m ifan_jax.export --checkpoint weights/ifan --out ifan.jax
  python -m ifan_jax.export --checkpoint weights/ifan --out ifan.onnx --format onnx
"""

import time

from absl import app, flags

from ifan_jax import commands
from ifan_jax.exporting import forward, jax_format, writing
from ifan_jax.saved_models import any_model


def define_flags():
  """Defines the command's flags on `flags.FLAGS`: only when run, so importing it clashes with no program."""
  flags.DEFINE_string("checkpoint", None, any_model.CHECKPOINT_HELP, required=True)
  flags.DEFINE_string("out", None, "File to write; an existing one only with --overwrite.", required=True)
  flags.DEFINE_bool("overwrite", False, "Replace --out if it exists.")
  flags.DEFINE_enum("format", "jax", writing.FORMATS, "jax: a jax.export artifact; onnx: an ONNX model.")
  flags.DEFINE_enum("dtype", "float32", forward.DTYPES, "Compute dtype of the jax format (inputs stay float32).")
  flags.DEFINE_list(
    "platforms",
    list(jax_format.DEFAULT_PLATFORMS),
    f"Platforms the jax format is lowered for ({', '.join(jax_format.PLATFORMS)}).",
  )


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"Unexpected arguments {argv[1:]}: the command takes flags only.")
  options = flags.FLAGS
  start = time.perf_counter()
  size = writing.export_file(
    options.checkpoint,
    options.out,
    overwrite=options.overwrite,
    fmt=options.format,
    dtype=options.dtype,
    platforms=options.platforms,
  )
  print(f"Wrote {options.out} ({options.format}, {size / 2**20:.1f} MB) in {time.perf_counter() - start:.1f} s.")


if __name__ == "__main__":
  define_flags()
  commands.run(main, "ifan_jax.export", errors=(ImportError,))
