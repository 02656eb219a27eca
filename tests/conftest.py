"""Shared helpers: loading configs/*.py and a tiny training config."""

import importlib.util
import os
import pathlib
import tempfile

import jax
import pytest

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


def load_config(name, arg=None):
  """`get_config()` of `configs/<name>.py`, as `--config configs/<name>.py` loads it."""
  spec = importlib.util.spec_from_file_location(f"configs_{name}", ROOT / "configs" / f"{name}.py")
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module.get_config() if arg is None else module.get_config(arg)


def tiny_config(**overrides):
  """The default config shrunk to seconds: a 4-channel IFAN, 32x32 crops, batch 4."""
  config = load_config("default")
  config.model.update(channels=4, iterations=2, res_num=1, reblur_iterations=2)
  config.update(dataset="fake", crop_size=32, batch_size=4, total_steps=4, log_every_steps=1,
                eval_every_steps=2, checkpoint_every_steps=2, learning_rate=1e-3, num_image_summaries=1)
  config.update(overrides)
  return config


@pytest.fixture
def tiny():
  return tiny_config
