r"""Latency of `POST /api/deblur` through the real server (uvicorn on localhost), per image size.

  python benchmarks/serve.py [--sizes 512x512,1024x1536] [--repeats 3] [--model tiny|default]
  python benchmarks/serve.py --checkpoint checkpoints/ifan

Without --checkpoint the model gets random weights (speed does not depend on them): `tiny` is the
tests' 4-channel, N=2 model, `default` the official architecture (N=17). For each size one request
compiles (its time is printed apart), then --repeats requests are timed from the client: the median
round trip, and the model's own seconds (the X-Deblur-Seconds header) within it. The upload is an
8-bit PNG of scikit-image's astronaut, resized.
"""

import socket
import statistics
import threading
import time

import cv2
import httpx2
import jax
import jax.numpy as jnp
import skimage.data
import uvicorn
from absl import app, flags

from ifan_jax import IFAN, Deblurrer, IFANConfig
from ifan_jax.serving.app import create_app

_SIZES = flags.DEFINE_list("sizes", ["512x512", "1024x1536"], "HxW of the uploads.")
_REPEATS = flags.DEFINE_integer("repeats", 3, "Timed requests per size, after one that compiles.")
_MODEL = flags.DEFINE_enum("model", "tiny", ["tiny", "default"], "Random-weight model without --checkpoint.")
_CHECKPOINT = flags.DEFINE_string("checkpoint", None, "Model directory or .pytorch file instead of random weights.")
_CONFIGS = {"tiny": IFANConfig(channels=4, res_num=1, iterations=2, reblur_iterations=2), "default": IFANConfig()}


def _deblurrer():
  if _CHECKPOINT.value:
    return Deblurrer.from_checkpoint(_CHECKPOINT.value)
  config = _CONFIGS[_MODEL.value]
  return Deblurrer(config, jax.jit(IFAN(config).init)(jax.random.key(0), jnp.zeros((1, 16, 16, 3)))["params"])


def _upload(height, width) -> bytes:
  rgb = cv2.resize(skimage.data.astronaut(), (width, height), interpolation=cv2.INTER_AREA)
  return cv2.imencode(".png", rgb[..., ::-1])[1].tobytes()


def _serve(application):
  """uvicorn in a thread on a free port; returns the server (set `should_exit` to stop it) and its URL."""
  with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
  server = uvicorn.Server(uvicorn.Config(application, host="127.0.0.1", port=port, log_level="warning"))
  threading.Thread(target=server.run, daemon=True).start()
  while not server.started:
    time.sleep(0.05)
  return server, f"http://127.0.0.1:{port}"


def _post(client, url, data):
  start = time.perf_counter()
  response = client.post(f"{url}/api/deblur", files={"image": ("photo.png", data)})
  seconds = time.perf_counter() - start
  assert response.status_code == 200, response.text
  return seconds, float(response.headers["x-deblur-seconds"])


def main(argv):
  del argv
  deblurrer = _deblurrer()
  server, url = _serve(create_app(deblurrer, checkpoint=_CHECKPOINT.value or f"random {_MODEL.value}"))
  device = jax.devices()[0]
  print(f"device: {device.device_kind} ({device.platform}); model: {_CHECKPOINT.value or 'random ' + _MODEL.value}")
  with httpx2.Client(timeout=600) as client:
    for size in _SIZES.value:
      height, width = map(int, size.split("x"))
      data = _upload(height, width)
      first, _ = _post(client, url, data)
      runs = [_post(client, url, data) for _ in range(_REPEATS.value)]
      total, model = statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)
      print(
        f"{height}x{width} ({len(data) / 2**20:.2f} MB PNG): first request {first:.2f} s (compiles); "
        f"then median {total:.3f} s per request, of which the model {model:.3f} s"
      )
  server.should_exit = True


if __name__ == "__main__":
  app.run(main)
