"""`GET /api/health` reports the requests queued or running (the user guide's Deploy section), in-process."""

import threading
import time

import cv2
import numpy as np
from starlette.testclient import TestClient

from ifan_jax import Deblurrer
from ifan_jax.serving import worker
from ifan_jax.serving.app import create_app
from tests.conftest import TINY_CONFIG, xavier_params


def _waiting(client, count):
  """Polls /api/health until it reports `count` requests waiting; the deadline only bounds a hang."""
  deadline = time.monotonic() + 120
  while (waiting := client.get("/api/health").json()["waiting"]) != count:
    assert time.monotonic() < deadline, f"health reports {waiting} waiting, not {count}"
    time.sleep(0.01)


def test_health_counts_the_requests_queued_and_running(monkeypatch):
  release, started = threading.Event(), threading.Event()
  deblur_photo = worker.photos.deblur_photo

  def held(*args, **kwargs):  # the model's thread waits here until the test lets it go
    started.set()
    assert release.wait(timeout=120)
    return deblur_photo(*args, **kwargs)

  monkeypatch.setattr(worker.photos, "deblur_photo", held)
  data = cv2.imencode(".png", np.full((24, 32, 3), 128, np.uint8))[1].tobytes()
  with TestClient(create_app(Deblurrer(TINY_CONFIG, xavier_params(TINY_CONFIG)))) as client:
    assert client.get("/api/health").json()["waiting"] == 0
    codes = []

    def post():
      codes.append(client.post("/api/deblur", files={"image": ("a.png", data)}).status_code)

    posts = [threading.Thread(target=post) for _ in range(3)]
    posts[0].start()
    assert started.wait(timeout=120)
    _waiting(client, 1)  # one running
    for thread in posts[1:]:
      thread.start()
    _waiting(client, 3)  # one running, two queued behind it
    release.set()
    for thread in posts:
      thread.join(timeout=120)
    assert codes == [200, 200, 200]
    _waiting(client, 0)
