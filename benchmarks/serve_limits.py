r"""What the server's limits cost and hold, measured on the real command (`python -m ifan_jax.serve`).

  python benchmarks/serve_limits.py [--model default|tiny] [--sizes 20] [--compiled_shapes 8]

Starts the server on a model with random weights (speed and memory do not depend on them) and
  1. sends --sizes images of distinct sizes of about 10,000 pixels each (64+8i high), one after
     another, and prints the server process's resident memory after each: what the compiled shapes it
     keeps hold (--compiled_shapes 1000 keeps them all, as jax.jit alone would);
  2. sends one image large enough to be deblurred whole for many seconds (--whole: compiling it and
     the one XLA call that cannot stop midway), sends SIGTERM --wait seconds later, and prints how long
     the process took to end.
"""

import contextlib
import os
import pathlib
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

import cv2
import jax
import jax.numpy as jnp
import numpy as np
from absl import app, flags

from ifan_jax import IFAN, IFANConfig
from ifan_jax.saved_models import model_dir

_MODEL = flags.DEFINE_enum("model", "default", ["tiny", "default"], "Architecture of the random-weight model.")
_SIZES = flags.DEFINE_integer("sizes", 20, "Distinct image sizes sent one after another.")
_COMPILED = flags.DEFINE_integer("compiled_shapes", 8, "The server's --compiled_shapes.")
_WHOLE = flags.DEFINE_integer("whole", 2048, "Side of the square image deblurred whole when SIGTERM comes.")
_WAIT = flags.DEFINE_float("wait", 8, "Seconds from sending that image to SIGTERM (inside its compilation or run).")
_CONFIGS = {"tiny": IFANConfig(channels=4, res_num=1, iterations=2, reblur_iterations=2), "default": IFANConfig()}


def _png(height, width):
  pixels = np.random.default_rng(height * width).integers(0, 256, (height, width, 3), dtype=np.uint8)
  return cv2.imencode(".png", cv2.GaussianBlur(pixels, (0, 0), 3))[1].tobytes()


def _post(port, data, name="x.png", timeout=600):
  boundary = "b"
  body = (
    f'--{boundary}\r\nContent-Disposition: form-data; name="image"; filename="{name}"\r\n\r\n'.encode()
    + data
    + f"\r\n--{boundary}--\r\n".encode()
  )
  request = urllib.request.Request(
    f"http://127.0.0.1:{port}/api/deblur",
    data=body,
    headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
  )
  with urllib.request.urlopen(request, timeout=timeout) as response:
    return response.read()


def _rss_mb(pid) -> float:
  with open(f"/proc/{pid}/status") as status:
    return next(int(line.split()[1]) for line in status if line.startswith("VmRSS")) / 1024


def _start(model, port, log, *flags_):
  command = [sys.executable, "-m", "ifan_jax.serve", "--checkpoint", model, "--port", str(port), *flags_]
  process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
  while "Uvicorn running" not in pathlib.Path(log.name).read_text():
    if process.poll() is not None:
      raise SystemExit(pathlib.Path(log.name).read_text()[-3000:])
    time.sleep(0.2)
  return process


def main(argv):
  del argv
  config = _CONFIGS[_MODEL.value]
  folder = tempfile.mkdtemp(prefix="serve_limits-")
  params = jax.jit(IFAN(config).init)(jax.random.key(0), jnp.zeros((1, 16, 16, 3)))["params"]
  model_dir.save_model(os.path.join(folder, "model"), config, jax.device_get(params))
  model, port = os.path.join(folder, "model"), 18000 + os.getpid() % 1000
  with open(os.path.join(folder, "cache.log"), "w") as log:
    process = _start(model, port, log, f"--compiled_shapes={_COMPILED.value}")
    print(f"{_MODEL.value} model, --compiled_shapes={_COMPILED.value}: started at {_rss_mb(process.pid):.0f} MB")
    for i in range(_SIZES.value):
      height = 64 + 8 * i
      width = 8 * -(-10_000 // (8 * height))  # distinct shapes of a similar size: activations alike
      started = time.perf_counter()
      _post(port, _png(height, width))
      seconds, rss = time.perf_counter() - started, _rss_mb(process.pid)
      print(f"  size {i + 1:2d} ({height}x{width}): {seconds:5.2f} s, {rss:.0f} MB")
    process.terminate()
    process.wait()
  with open(os.path.join(folder, "sigterm.log"), "w") as log:
    process = _start(model, port, log, "--request_timeout=3600")
    side = _WHOLE.value
    threading.Thread(target=_swallow, args=(lambda: _post(port, _png(side, side)),), daemon=True).start()
    time.sleep(_WAIT.value)
    started = time.perf_counter()
    process.send_signal(signal.SIGTERM)
    code = process.wait()
    seconds = time.perf_counter() - started
    print(
      f"SIGTERM {_WAIT.value:g} s into a {side}x{side} image deblurred whole: ended in {seconds:.2f} s (status {code})"
    )


def _swallow(call):
  with contextlib.suppress(Exception):  # The server goes away under the request: expected.
    call()


if __name__ == "__main__":
  app.run(main)
