"""What every `python -m ifan_jax.<command>` shares: a user's mistake is one line, not a traceback.

The library's errors for a bad value, file or folder (ValueError, OSError, each naming what is wrong
and the fix) and absl's UsageError end a command with `ifan_jax.<command>: message` on stderr and exit
status 1; Ctrl-C ends it with status 130. With `--verbosity=1` (absl's flag) or the environment
variable IFAN_JAX_TRACEBACK=1 the traceback is printed first, for a bug report.
"""

import os
import sys
import traceback

from absl import app, flags

TRACEBACK_ENV = "IFAN_JAX_TRACEBACK"
USER_ERRORS = (ValueError, OSError, app.UsageError)
_INTERRUPTED = 130  # 128 + SIGINT, what shells report for Ctrl-C


def _want_traceback() -> bool:
  verbosity = flags.FLAGS["verbosity"].value if "verbosity" in flags.FLAGS else 0
  return os.environ.get(TRACEBACK_ENV, "") not in ("", "0") or (verbosity or 0) >= 1


def run(main, command: str, *, errors: tuple[type[BaseException], ...] = ()):
  """`absl.app.run(main)`, ending on a user error (USER_ERRORS and `errors`) with one line naming it."""

  def guarded(argv):
    try:
      return main(argv)
    except (*USER_ERRORS, *errors) as error:
      if _want_traceback():
        traceback.print_exc()
      help_hint = " (--help lists the flags)" if isinstance(error, app.UsageError) else ""
      notes = "".join(f" {note}" for note in getattr(error, "__notes__", ()))
      sys.exit(f"{command}: {error}{notes}{help_hint}")
    except KeyboardInterrupt:
      if _want_traceback():
        traceback.print_exc()
      print(f"{command}: interrupted.", file=sys.stderr)
      sys.exit(_INTERRUPTED)

  app.run(guarded)


def define_tiling_flags():
  """--tile and --overlap, as `deblur` and `serve` both take them (`ifan_jax.inference.tiling`)."""
  from ifan_jax.geometry import SIZE_MULTIPLE  # pylint: disable=import-outside-toplevel
  from ifan_jax.inference import tiling  # pylint: disable=import-outside-toplevel

  flags.DEFINE_integer(
    "tile",
    None,
    f"Deblur in square tiles of this many pixels (a multiple of {SIZE_MULTIPLE}). Default: "
    "whole images, tiled automatically only when they would not fit in memory.",
  )
  flags.DEFINE_integer(
    "overlap",
    tiling.DEFAULT_OVERLAP,
    f"Overlap of adjacent tiles in pixels (a multiple of {SIZE_MULTIPLE}); seams are blended.",
  )
