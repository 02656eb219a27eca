"""Running Python snippets in fresh processes: without TensorFlow, or several at once on one data_dir."""

import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# Prepended to a script: makes `import tensorflow` fail, as on a machine without it.
HIDE_TENSORFLOW = """
import importlib.machinery, sys
class Hidden(importlib.machinery.PathFinder):
  @classmethod
  def find_spec(cls, name, path=None, target=None):
    if name.split('.')[0] == 'tensorflow':
      return None
    return importlib.machinery.PathFinder.find_spec(name, path, target)
sys.meta_path = [Hidden if f is importlib.machinery.PathFinder else f for f in sys.meta_path]
"""


def start(script: str, *args: str, hide_tensorflow: bool = False) -> subprocess.Popen:
  """Starts `python -c script args...` importing this checkout of ifan_jax; text stdout and stderr."""
  code = (HIDE_TENSORFLOW if hide_tensorflow else "") + script
  return subprocess.Popen(
    [sys.executable, "-c", code, *args],
    stdout=subprocess.PIPE,
    stderr=subprocess.PIPE,
    text=True,
    env={**os.environ, "PYTHONPATH": ROOT},
  )


def finish(process: subprocess.Popen, timeout: float = 300) -> tuple[str, str]:
  """Waits for a started process; returns (stdout, stderr), failing with the end of stderr if it failed."""
  try:
    stdout, stderr = process.communicate(timeout=timeout)
  except subprocess.TimeoutExpired:
    process.kill()
    raise
  assert process.returncode == 0, stderr[-3000:]
  return stdout, stderr


def run(script: str, *args: str, hide_tensorflow: bool = False, timeout: float = 300) -> tuple[str, str]:
  """Runs `script` to the end (see `finish`)."""
  return finish(start(script, *args, hide_tensorflow=hide_tensorflow), timeout)
