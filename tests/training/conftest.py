"""Training tests: a persistent compilation cache and the tiny training config."""

import os
import tempfile

import jax

from tests.training import tiny_config as tiny_config_module

# Many tests compile the same tiny training step; XLA:CPU takes seconds each time, so
# share compiled programs through JAX's persistent cache (keyed by program, flags and
# jax version, so it never changes a result). Subprocesses inherit it through the env.
os.environ.setdefault(
  "JAX_COMPILATION_CACHE_DIR", os.path.join(tempfile.gettempdir(), "ifan_jax_test_compilation_cache")
)
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0.5")
jax.config.update("jax_compilation_cache_dir", os.environ["JAX_COMPILATION_CACHE_DIR"])
jax.config.update(
  "jax_persistent_cache_min_compile_time_secs", float(os.environ["JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"])
)


def tiny_config(**overrides):
  """tests/training/tiny_config.py with `overrides` applied."""
  config = tiny_config_module.get_config()
  config.update(overrides)
  return config
