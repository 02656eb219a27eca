"""Shared test setup: a persistent compilation cache, config loading, the tiny training config."""

import importlib.util
import os
import pathlib
import tempfile

import jax

import tiny_config as tiny_config_module

ROOT = pathlib.Path(__file__).resolve().parent.parent

# Many tests compile the same tiny training step; XLA:CPU takes seconds each time, so
# share compiled programs through JAX's persistent cache (keyed by program and jax
# version, so it never changes a result). Subprocesses inherit it through the env.
COMPILATION_CACHE = os.path.join(tempfile.gettempdir(), "ifan_jax_test_compilation_cache")
os.environ.setdefault("JAX_COMPILATION_CACHE_DIR", COMPILATION_CACHE)
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0.5")
jax.config.update("jax_compilation_cache_dir", os.environ["JAX_COMPILATION_CACHE_DIR"])
jax.config.update("jax_persistent_cache_min_compile_time_secs",
                  float(os.environ["JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"]))


def load_config(name):
  """`get_config()` of `configs/<name>.py`, as `--config configs/<name>.py` loads it."""
  spec = importlib.util.spec_from_file_location(f"configs_{name}", ROOT / "configs" / f"{name}.py")
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module.get_config()


def tiny_config(**overrides):
  """tests/tiny_config.py with `overrides` applied."""
  config = tiny_config_module.get_config()
  config.update(overrides)
  return config
