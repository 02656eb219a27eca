r"""Deblurring as a service: `python -m ifan_jax.serve --checkpoint PATH [--host 127.0.0.1] [--port 8000]`.

Serves a web page at `/` (drop a photo, compare the blurred and deblurred images, download the
result) and an HTTP API around one model, loaded once:

  curl -F image=@photo.png http://127.0.0.1:8000/api/deblur -o sharp.png   # PNG, same bit depth
  curl http://127.0.0.1:8000/api/health                                      # the model and device

Requests are queued in front of the model; large images are tiled as the deblur CLI tiles them;
uploads stay in memory. Each request has a deadline, an image a pixel limit read from its header,
and a connection a read timeout; SIGTERM stops the server within seconds. docs/user_guide.md has
the defaults and why. Needs the `serve` extra: pip install -e ".[serve]".
"""

from absl import app, flags, logging

from ifan_jax import commands
from ifan_jax.saved_models import any_model
from ifan_jax.serving import Settings

_DEFAULTS = Settings()


def define_flags():
  """Defines the command's flags on `flags.FLAGS`: only when run, so importing it clashes with no program."""
  flags.DEFINE_string("checkpoint", None, any_model.CHECKPOINT_HELP, required=True)
  flags.DEFINE_string("host", "127.0.0.1", "Address to listen on (0.0.0.0: every interface).")
  flags.DEFINE_integer("port", 8000, "Port to listen on.")
  flags.DEFINE_float("max_upload_mb", _DEFAULTS.max_upload_mb, "Largest request body accepted, in MB (413 above).")
  flags.DEFINE_integer(
    "max_pixels", _DEFAULTS.max_pixels, "Largest image accepted, in pixels (400 above), read from its header."
  )
  flags.DEFINE_float(
    "request_timeout",
    _DEFAULTS.request_timeout,
    "Seconds from a request's first byte to its answer (503 past it; its work stops).",
  )
  flags.DEFINE_float(
    "read_timeout",
    _DEFAULTS.read_timeout,
    "Seconds a client may take to send a request's headers, and a body may go without data (408).",
  )
  flags.DEFINE_integer(
    "compiled_shapes", _DEFAULTS.compiled_shapes, "Image shapes whose compiled model is kept (least recent goes)."
  )
  commands.define_tiling_flags()
  flags.adopt_module_key_flags(commands)  # so that --help lists them with this command's own


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"Unexpected arguments {argv[1:]}: the server takes flags only.")
  options = flags.FLAGS
  fields = ("max_upload_mb", "max_pixels", "request_timeout", "read_timeout", "compiled_shapes", "tile", "overlap")
  settings = {name: options[name].value for name in fields}
  Settings(**settings).check()  # before the model loads, which takes a while
  try:
    from ifan_jax.serving import http  # pylint: disable=import-outside-toplevel
    from ifan_jax.serving.app import create_app  # pylint: disable=import-outside-toplevel
  except ImportError as e:
    raise ImportError(f'{e}; install the serve extra: pip install -e ".[serve]"') from None
  from ifan_jax.inference.deblurrer import Deblurrer  # pylint: disable=import-outside-toplevel

  application = create_app(Deblurrer.from_checkpoint(options.checkpoint), checkpoint=options.checkpoint, **settings)
  logging.info("serving %s on http://%s:%d/", options.checkpoint, options.host, options.port)
  http.serve(application, host=options.host, port=options.port, read_timeout=options.read_timeout)


if __name__ == "__main__":
  define_flags()
  commands.run(main, "ifan_jax.serve", errors=(ImportError,))
