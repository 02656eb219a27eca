r"""Deblurring as a service: `python -m ifan_jax.serve --checkpoint PATH [--host 127.0.0.1] [--port 8000]`.

Serves a web page at `/` (drop a photo, compare the blurred and deblurred images, download the
result) and an HTTP API around one model, loaded once:

  curl -F image=@photo.png http://127.0.0.1:8000/api/deblur -o sharp.png   # PNG, same bit depth
  curl http://127.0.0.1:8000/api/health                                      # the model and device

Requests are queued in front of the model; large images are tiled as the deblur CLI tiles them;
uploads stay in memory. Needs the `serve` extra: pip install -e ".[serve]".
"""

import sys

from absl import app, flags, logging

from ifan_jax.inference import tiling
from ifan_jax.io import any_model
from ifan_jax.serving import DEFAULT_MAX_UPLOAD_MB


def define_flags():
  """Defines the command's flags on `flags.FLAGS`: only when run, so importing it clashes with no program."""
  flags.DEFINE_string("checkpoint", None, any_model.CHECKPOINT_HELP, required=True)
  flags.DEFINE_string("host", "127.0.0.1", "Address to listen on (0.0.0.0: every interface).")
  flags.DEFINE_integer("port", 8000, "Port to listen on.")
  flags.DEFINE_float("max_upload_mb", DEFAULT_MAX_UPLOAD_MB, "Largest request body accepted, in MB (413 above).")
  flags.DEFINE_integer(
    "tile", None, "Deblur in square tiles of this many pixels (a multiple of 8); default: as the deblur CLI."
  )
  flags.DEFINE_integer("overlap", tiling.DEFAULT_OVERLAP, "Overlap of adjacent tiles in pixels (a multiple of 8).")


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"Unexpected arguments {argv[1:]}: the server takes flags only.")
  try:
    import uvicorn  # pylint: disable=import-outside-toplevel

    from ifan_jax.serving.app import check_options, create_app  # pylint: disable=import-outside-toplevel
  except ImportError as e:
    sys.exit(f'ifan_jax.serve: {e}; install the serve extra: pip install -e ".[serve]"')
  from ifan_jax.inference.deblurrer import Deblurrer  # pylint: disable=import-outside-toplevel

  options = flags.FLAGS
  settings = dict(max_upload_mb=options.max_upload_mb, tile=options.tile, overlap=options.overlap)
  try:
    check_options(**settings)  # before the model loads, which takes a while
    application = create_app(Deblurrer.from_checkpoint(options.checkpoint), checkpoint=options.checkpoint, **settings)
  except (OSError, ValueError) as e:  # A missing or broken checkpoint, bad tiles: the message names it.
    sys.exit(f"ifan_jax.serve: {e}")
  logging.info("serving %s on http://%s:%d/", options.checkpoint, options.host, options.port)
  uvicorn.run(application, host=options.host, port=options.port, log_level="info")


if __name__ == "__main__":
  define_flags()
  app.run(main)
