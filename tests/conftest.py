"""Shared fixtures: the golden outputs of the official code (tests/fixtures/golden), tiny models,
the commands as a user runs them, and folders nobody can write to."""

import contextlib
import functools
import json
import os
import pathlib
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ifan_jax import IFAN, IFANConfig
from ifan_jax.saved_models import model_dir

REPO = pathlib.Path(__file__).resolve().parents[1]
GOLDEN = REPO / "tests" / "fixtures" / "golden"


def strict_json_loads(text):
  """json.loads that refuses NaN and Infinity, as strict parsers (and JSON itself) do."""

  def refuse(constant):
    raise ValueError(f"not JSON: {constant}")

  return json.loads(text, parse_constant=refuse)


def run_command(module, args, *, cwd, timeout=300, env=None):
  """`python -m MODULE ARGS` from `cwd` (often not the repository), importing this checkout."""
  return subprocess.run(
    [sys.executable, "-m", module, *map(str, args)],
    cwd=cwd,
    env=dict(env or os.environ, PYTHONPATH=str(REPO)),
    capture_output=True,
    text=True,
    timeout=timeout,
    check=False,
  )


def require_chattr(where):
  """Skips the calling test unless `chattr +i` works on a folder in `where`.

  The immutable flag needs root (CAP_LINUX_IMMUTABLE) and a filesystem that has it (ext4, xfs, btrfs;
  not tmpfs or most network filesystems): CI's container has both, a developer's laptop often not.
  """
  probe = pathlib.Path(where) / ".chattr_probe"
  probe.mkdir()
  try:
    done = subprocess.run(["chattr", "+i", str(probe)], capture_output=True, text=True, check=False)
  except FileNotFoundError:
    probe.rmdir()
    pytest.skip("no chattr command (e2fsprogs): this test makes a folder immutable with chattr +i")
  if done.returncode == 0:
    subprocess.run(["chattr", "-i", str(probe)], check=True)
  probe.rmdir()
  if done.returncode != 0:
    pytest.skip(
      f"chattr +i fails in {where} (it needs root and a filesystem with the immutable flag): {done.stderr.strip()}"
    )


@contextlib.contextmanager
def immutable(path):
  """`chattr +i path` for the block: nobody, root included, can create, rename or delete in it.

  Skips the calling test where chattr +i cannot work (`require_chattr`)."""
  require_chattr(pathlib.Path(path).parent)
  subprocess.run(["chattr", "+i", str(path)], check=True)
  try:
    yield path
  finally:
    subprocess.run(["chattr", "-i", str(path)], check=True)


@pytest.fixture
def locked_dir(tmp_path):
  """An existing folder in which nothing can be created."""
  folder = tmp_path / "locked"
  folder.mkdir()
  with immutable(folder):
    yield folder


@pytest.fixture(scope="session")
def golden_dir():
  # A missing fixture folder is a failure, not a skip: parity is the point of these tests.
  assert GOLDEN.is_dir(), f"golden fixtures not found at {GOLDEN}"
  return GOLDEN


@pytest.fixture(scope="session")
def golden_meta(golden_dir):
  return json.loads((golden_dir / "golden_meta.json").read_text())


def load_npz(path):
  with np.load(path) as data:
    return dict(data)


TINY_CONFIG = IFANConfig(channels=4, res_num=1, iterations=2, reblur_iterations=2)


def xavier_params(config, seed=0):
  """IFAN parameters drawn Xavier-uniform with numpy, biases zero.

  Same distribution as `IFAN.init` (gain 1), but without compiling it: that takes 15-60 s
  on a shared 2-core machine, against well under a second for this.
  """
  image = jnp.zeros((1, 16, 16, 3))
  views = {"left": image, "right": image} if config.dual_pixel else {}
  return module_xavier_params(IFAN(config), image, seed=seed, **views)


def module_xavier_params(module, *inputs, seed=0, **keyword_inputs):
  """`xavier_params` for any module, given example inputs of its `__call__`."""
  shapes = jax.eval_shape(functools.partial(module.init, **keyword_inputs), jax.random.key(0), *inputs)["params"]
  rng = np.random.default_rng(seed)

  def draw(leaf):
    if leaf.ndim == 1:
      return np.zeros(leaf.shape, np.float32)
    receptive = int(np.prod(leaf.shape[:-2]))
    bound = np.sqrt(6 / (receptive * (leaf.shape[-2] + leaf.shape[-1])))
    return rng.uniform(-bound, bound, leaf.shape).astype(np.float32)

  return jax.tree.map(draw, shapes)


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory):
  """A randomly initialised tiny IFAN saved as a model directory (for the CLIs)."""
  params = xavier_params(TINY_CONFIG)
  directory = tmp_path_factory.mktemp("models") / "tiny"
  model_dir.save_model(directory, TINY_CONFIG, params)
  return directory
