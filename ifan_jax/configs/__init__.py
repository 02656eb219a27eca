"""The training configs shipped with ifan_jax, and how `--config` finds them.

Each `NAME.py` here has a `get_config()` that starts from `ifan_jax.training.default_config.default_config()`
and changes a few fields; its docstring gives the command that runs it. `--config` takes a path
(with an optional `:ARG` for `get_config`). A path that exists, relative to the current directory
or absolute, is that file; one that does not and reads `configs/NAME.py` or
`ifan_jax/configs/NAME.py` is the config shipped here. So `--config configs/synthetic.py` runs the
same file from a checkout's root, from any other directory and from an installed wheel, and a
file of one's own at that path wins. Every shipped config takes `:smoke`, its run shrunk to 20
steps (`default_config.with_variant`).
"""

import os
import pathlib

from ifan_jax.training.default_config import check_variant

HERE = pathlib.Path(__file__).resolve().parent
_SHIPPED_UNDER = (("configs",), ("ifan_jax", "configs"))


def shipped() -> tuple[str, ...]:
  """The names of the shipped configs, sorted."""
  return tuple(sorted(p.stem for p in HERE.glob("*.py") if p.name != "__init__.py"))


def resolve(argument: str) -> str:
  """`argument` (PATH or PATH:ARG) with PATH made the shipped file's when the module docstring says so.

  Raises FileNotFoundError naming the path, the current directory and the shipped configs when
  PATH is neither a file nor a shipped config.
  """
  path, colon, arg = argument.partition(":")
  candidate = pathlib.Path(path).expanduser()
  if candidate.is_file():
    return argument
  name = candidate.name
  shipped_name = candidate.suffix == ".py" and candidate.stem in shipped()
  if not candidate.is_absolute() and candidate.parts[:-1] in _SHIPPED_UNDER and shipped_name:
    return f"{HERE / name}{colon}{arg}"
  choices = ", ".join(f"configs/{n}.py" for n in shipped())
  raise FileNotFoundError(
    f"No config file {path} (looked from {os.getcwd()}): give the path of one, or a config shipped "
    f"with ifan_jax: {choices}."
  )


def resolve_paths_of(flag):
  """Makes `flag`, defined by `ml_collections.config_flags.DEFINE_config_file`, read its paths through
  `resolve`; a path that `resolve` refuses is then a flag error that names it.

  The command defines the flag itself (absl's --help lists the flags of the module that defines them);
  a default path should be `resolve`d first, as absl parses it at once.
  """
  flag.parser = _ResolvingParser(flag.parser)


class _ResolvingParser:
  """The config flag's own parser (it loads the file and locks the config), given `resolve`d paths."""

  def __init__(self, parser):
    self._parser = parser

  def parse(self, argument):
    try:
      resolved = resolve(argument)
    except FileNotFoundError as error:
      raise ValueError(str(error)) from None  # absl reports a ValueError as a bad flag value
    path, _, variant = resolved.partition(":")
    if pathlib.Path(path).parent == HERE:
      # Checked here to say it in one line: ml_collections wraps a config's own error in its traceback.
      try:
        check_variant(variant)
      except ValueError as error:
        raise ValueError(f"{argument}: {error}") from None
    return self._parser.parse(resolved)

  def __getattr__(self, name):  # flag_type, _custom_xml_dom_elements, ...: the wrapped parser's
    return getattr(self._parser, name)
