"""The HTTP API in-process: real images of every kind, broken and oversized ones, the queue, no disk."""

import asyncio
import base64
import builtins
import io
import logging
import re
import tempfile
import threading
import time

import cv2
import jax
import numpy as np
import pytest
from PIL import Image
from python_multipart.multipart import MultipartParser
from starlette.testclient import TestClient

from ifan_jax import Deblurrer
from ifan_jax.inference import photos
from ifan_jax.io import images
from ifan_jax.serving import encoding, uploads
from ifan_jax.serving.app import create_app
from tests.conftest import TINY_CONFIG, xavier_params
from tests.io.hostile_files import jpeg_declaring, png_declaring, tiff_declaring

MAX_MB = 1


def _smooth(h, w, channels=3, dtype=np.uint8, seed=0):
  coarse = np.random.default_rng(seed).random((h // 8 + 2, w // 8 + 2, channels))
  image = cv2.resize(coarse, (w, h), interpolation=cv2.INTER_CUBIC).clip(0, 1).reshape(h, w, channels)
  return np.round(image * np.iinfo(dtype).max).astype(dtype)


def _encoded(suffix, pixels, **params):
  return cv2.imencode(suffix, pixels, list(params.values()))[1].tobytes()


UPLOADS = {  # name -> (bytes, bit depth of the result)
  "photo8.png": (_encoded(".png", _smooth(37, 51)), 8),
  "photo16.png": (_encoded(".png", _smooth(40, 48, dtype=np.uint16, seed=1)), 16),
  "photo.jpg": (_encoded(".jpg", _smooth(32, 40, seed=2), q=cv2.IMWRITE_JPEG_QUALITY, v=95), 8),
  "scan16.tif": (_encoded(".tif", _smooth(24, 40, dtype=np.uint16, seed=3)), 16),
}


BOMBS = {"bomb.png": png_declaring, "bomb.jpg": jpeg_declaring, "bomb.tif": tiff_declaring}


@pytest.fixture(scope="module")
def deblurrer(tiny_model_dir):
  return Deblurrer.from_checkpoint(tiny_model_dir)


@pytest.fixture(scope="module")
def client(deblurrer, tiny_model_dir):
  with TestClient(create_app(deblurrer, checkpoint=tiny_model_dir, max_upload_mb=MAX_MB)) as test_client:
    yield test_client


def _post(client, name, data, path="/api/deblur", **fields):
  return client.post(path, files={"image": (name, data, "application/octet-stream"), **fields})


@pytest.mark.parametrize("name", sorted(UPLOADS))
def test_deblur_returns_the_cli_result_as_png_at_the_input_bit_depth(client, deblurrer, name, tmp_path):
  data, bits = UPLOADS[name]
  response = _post(client, name, data)
  assert response.status_code == 200, response.text
  assert response.headers["content-type"] == "image/png"
  assert response.content.startswith(b"\x89PNG")
  result = cv2.imdecode(np.frombuffer(response.content, np.uint8), cv2.IMREAD_UNCHANGED)
  assert result.dtype == (np.uint16 if bits == 16 else np.uint8)
  # The pixels the deblur CLI writes for the same file (it keeps the input's format, the API writes PNG).
  (tmp_path / name).write_bytes(data)
  photos.deblur_file(deblurrer, tmp_path / name, tmp_path / "cli.png")
  assert response.content == (tmp_path / "cli.png").read_bytes()


@pytest.mark.parametrize("name", ["photo.jpg", "scan16.tif"])
def test_format_same_is_the_file_the_cli_writes(client, deblurrer, name, tmp_path):
  data, _ = UPLOADS[name]
  response = client.post("/api/deblur?format=same", files={"image": (name, data)})
  assert response.status_code == 200, response.text
  assert response.headers["content-type"] == encoding.MEDIA_TYPES[images.image_format(name)]
  (tmp_path / "in").mkdir()
  (tmp_path / "in" / name).write_bytes(data)
  photos.deblur_file(deblurrer, tmp_path / "in" / name, tmp_path / name)
  assert response.content == (tmp_path / name).read_bytes()


def test_grey_and_alpha_are_kept_and_exif_orientation_applied(client, tmp_path):
  rgba = Image.fromarray(_smooth(24, 32, channels=4, seed=4), "RGBA")
  rgba.save(tmp_path / "rgba.png")
  response = _post(client, "rgba.png", (tmp_path / "rgba.png").read_bytes())
  with Image.open(tmp_path / "rgba.png") as sent:
    np.testing.assert_array_equal(images.decode_image(response.content, "x.png").alpha, np.asarray(sent)[..., 3])
  phone = Image.fromarray(_smooth(40, 56, seed=5))
  exif = phone.getexif()
  exif[0x0112] = 6  # stored landscape, shown portrait
  phone.save(tmp_path / "phone.jpg", exif=exif, quality=95)
  response = _post(client, "phone.jpg", (tmp_path / "phone.jpg").read_bytes())
  assert images.decode_image(response.content, "x.png").rgb.shape == (56, 40, 3)


def test_views_give_previews_at_the_image_size_and_the_download(client):
  data, _ = UPLOADS["photo16.png"]
  page = _post(client, "photo16.png", data, path="/api/previews").json()
  assert (page["width"], page["height"], page["bit_depth"]) == (48, 40, 16)
  for key in ("blurred", "result", "disparity"):
    png = base64.b64decode(page[key].removeprefix("data:image/png;base64,"))
    assert cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_UNCHANGED).shape == (40, 48, 3), key
  download = page["download"]
  assert (download["filename"], download["media_type"]) == ("photo16_deblurred.png", "image/png")
  assert base64.b64decode(download["base64"]) == _post(client, "photo16.png", data).content


def test_disparity_preview_is_centred_on_white_and_covers_each_8x8_block():
  disparity = np.array([[-2.0, 0.0, 2.0]])
  pixels = images.decode_image(encoding.disparity_preview(disparity, 5, 20), "d.png").rgb
  assert pixels.shape == (5, 20, 3)
  blue, white, red = pixels[0, 0], pixels[0, 8], pixels[0, 16]
  assert blue[2] > blue[0] and red[0] > red[2] and white.min() > 0.8
  np.testing.assert_array_equal(pixels[:, :8], np.broadcast_to(blue, (5, 8, 3)))


@pytest.mark.parametrize(
  "name, data, message",
  [
    ("broken.png", b"\x89PNG\r\n\x1a\n not an image", "broken.png: cannot decode the image (unreadable or truncated"),
    ("cut.jpg", UPLOADS["photo.jpg"][0][:-200], "cut.jpg: truncated JPEG"),
    ("notes.txt", b"hello", "notes.txt: unsupported image type '.txt'"),
    ("empty.png", b"", 'No file in the form field "image"'),
  ],
)
def test_unreadable_uploads_are_400_with_the_cli_message(client, tmp_path, name, data, message):
  response = _post(client, name, data)
  assert response.status_code == 400
  assert message in response.json()["error"]
  if data:  # The deblur CLI says the same of the same file.
    (tmp_path / name).write_bytes(data)
    with pytest.raises(ValueError) as raised:
      images.read_image(tmp_path / name)
    assert response.json()["error"] == str(raised.value).replace(str(tmp_path / name), name)


def test_requests_without_an_image_are_400(client):
  assert "multipart/form-data" in client.post("/api/deblur", content=b"\x89PNG").json()["error"]
  response = client.post("/api/deblur", files={"photo": ("a.png", UPLOADS["photo8.png"][0])})
  assert response.status_code == 400 and 'form field "image"' in response.json()["error"]
  response = client.post("/api/deblur?format=gif", files={"image": ("a.png", UPLOADS["photo8.png"][0])})
  assert response.status_code == 400 and "format='gif'" in response.json()["error"]


def test_a_body_cut_off_before_its_closing_boundary_is_400(client):
  body = b"--b\r\nContent-Disposition: form-data; name=image; filename=a.png\r\n\r\n" + UPLOADS["photo8.png"][0]
  response = client.post("/api/deblur", content=body, headers={"content-type": "multipart/form-data; boundary=b"})
  assert response.status_code == 400
  assert "ends before its closing boundary (a truncated upload?)" in response.json()["error"]


def test_oversize_uploads_are_413_before_decoding(client, monkeypatch):
  decoded = []
  monkeypatch.setattr(images, "decode_pixels", lambda *a: decoded.append(a))
  big = bytes(MAX_MB * 2**20 + 1)
  response = _post(client, "big.png", big)
  assert response.status_code == 413
  assert "more than this server accepts (1 MB, --max_upload_mb)" in response.json()["error"]

  def chunked():  # No Content-Length: the limit applies as the body streams in.
    yield b"--b\r\nContent-Disposition: form-data; name=image; filename=big.png\r\n\r\n"
    for _ in range(MAX_MB * 4):
      yield bytes(2**18)

  response = client.post("/api/deblur", content=chunked(), headers={"content-type": "multipart/form-data; boundary=b"})
  assert response.status_code == 413 and "over 1.0 MB" in response.json()["error"]
  assert not decoded


def test_nothing_sent_is_written_to_disk(client, monkeypatch):
  """A 3 MB upload (Starlette's own parser would spool it to a temporary file: it spools over 1 MB) makes
  no temporary file and opens no file for writing. JAX's persistent compilation cache, when one is set
  (tests/training/conftest.py sets one for its worker process), holds compiled programs, not what was
  sent: its writes are let through."""
  written = []
  real_open = builtins.open
  cache = jax.config.jax_compilation_cache_dir

  def watched_open(file, mode="r", *args, **kwargs):
    if any(flag in mode for flag in "wax+") and not (cache and str(file).startswith(cache)):
      written.append(file)
    return real_open(file, mode, *args, **kwargs)

  monkeypatch.setattr(builtins, "open", watched_open)
  for name in ("TemporaryFile", "NamedTemporaryFile", "SpooledTemporaryFile", "mkstemp", "mkdtemp"):
    monkeypatch.setattr(tempfile, name, lambda *a, _name=name, **k: written.append(_name))
  noise = np.random.default_rng(0).integers(0, 65535, (600, 900, 3), dtype=np.uint16)  # ~3 MB as PNG
  data = _encoded(".png", noise)
  assert 2**21 < len(data) < 2**22
  app = create_app(client.app.state.worker.deblurrer, max_upload_mb=4)
  with TestClient(app) as big_client:
    response = big_client.post("/api/deblur", files={"image": ("noise.png", data)})
  assert response.status_code == 200, response.text
  assert written == []


class _CountingLowerings:
  """Stands for a jitted function: counts the shapes it is lowered (then compiled) for."""

  def __init__(self, jitted):
    self.jitted, self.shapes = jitted, []

  def lower(self, variables, image, **views):
    self.shapes.append(image.shape)
    return self.jitted.lower(variables, image, **views)


def test_a_shape_compiles_once_and_requests_queue_on_one_thread(client, monkeypatch):
  threads = set()
  real_predict = Deblurrer.predict

  def predict(self, *args, **kwargs):
    threads.add(threading.current_thread().name)
    return real_predict(self, *args, **kwargs)

  monkeypatch.setattr(Deblurrer, "predict", predict)
  forward = client.app.state.worker.deblurrer._forward
  counting = _CountingLowerings(forward._jitted)
  monkeypatch.setattr(forward, "_jitted", counting)
  data = _encoded(".png", _smooth(72, 88, seed=6))  # A shape no other test sends.

  async def two_at_once():
    worker = client.app.state.worker
    photo = images.decode_image(data, "a.png")
    return await asyncio.gather(worker.deblur(photo), worker.deblur(photo))

  (first, _), (second, _) = asyncio.run(two_at_once())
  np.testing.assert_array_equal(first["result"], second["result"])
  assert _post(client, "again.png", data).status_code == 200
  assert counting.shapes == [(1, 72, 88, 3)]
  assert len(threads) == 1 and threads.pop().startswith("ifan-model")


def test_the_compiled_shapes_kept_are_the_most_recent_few(deblurrer, monkeypatch):
  with TestClient(create_app(deblurrer, compiled_shapes=2)) as bounded:
    forward = bounded.app.state.worker.deblurrer._forward
    counting = _CountingLowerings(forward._jitted)
    monkeypatch.setattr(forward, "_jitted", counting)
    for height in (16, 24, 32, 24, 16):
      assert _post(bounded, f"{height}.png", _encoded(".png", _smooth(height, 40))).status_code == 200
      assert len(forward) <= 2
  assert [shape[1] for shape in counting.shapes] == [16, 24, 32, 16]  # 24 was kept, 16 had gone


def test_large_images_are_tiled_as_the_cli_tiles_them(deblurrer, tmp_path):
  data = _encoded(".png", _smooth(40, 72, seed=7))
  with TestClient(create_app(deblurrer, tile=32, overlap=16)) as tiled:
    response = tiled.post("/api/deblur", files={"image": ("wide.png", data)})
    page = tiled.post("/api/previews", files={"image": ("wide.png", data)}).json()
  (tmp_path / "wide.png").write_bytes(data)
  photos.deblur_file(deblurrer, tmp_path / "wide.png", tmp_path / "out.png", tile=32, overlap=16)
  assert response.content == (tmp_path / "out.png").read_bytes()
  assert page["disparity"] is None


def test_health_names_the_model_and_the_device(client, tiny_model_dir):
  health = client.get("/api/health").json()
  assert health["config"] == TINY_CONFIG.to_dict()
  assert health["device"]["platform"] == jax.devices()[0].platform  # cpu on CI
  assert health["checkpoint"] == str(tiny_model_dir)
  assert health["max_upload_mb"] == MAX_MB


def test_the_page_and_its_assets_come_from_the_server_alone(client):
  page = client.get("/")
  assert page.status_code == 200 and "text/html" in page.headers["content-type"]
  for asset in ("/static/app.js", "/static/style.css"):
    body = client.get(asset)
    assert body.status_code == 200 and asset in page.text
    assert "http://" not in body.text and "https://" not in body.text and "//cdn" not in body.text
  assert "http://" not in page.text and "https://" not in page.text


def test_upload_parser_keeps_file_names_and_fields():
  collector = uploads._Collector()
  parser = MultipartParser(b"x", collector.callbacks())
  parser.write(
    b'--x\r\nContent-Disposition: form-data; name="image"; filename="a b.png"\r\n\r\n\x00\r\n\x01'
    b'\r\n--x\r\nContent-Disposition: form-data; name="note"\r\n\r\nhi\r\n--x--\r\n'
  )
  parser.finalize()
  assert collector.complete
  assert collector.parts == {"image": uploads.Part("a b.png", b"\x00\r\n\x01"), "note": uploads.Part(None, b"hi")}


def test_upload_parser_undoes_the_form_encoding_of_names():
  """Browsers and httpx send '"' as %22 and control characters as %0A...; nothing else is escaped."""
  collector = uploads._Collector()
  parser = MultipartParser(b"x", collector.callbacks())
  parser.write(
    b'--x\r\nContent-Disposition: form-data; name="image"; filename="a %22b%22%0A100%41.png"\r\n\r\n1\r\n--x--\r\n'
  )
  parser.finalize()
  assert collector.parts == {"image": uploads.Part('a "b"\n100%41.png', b"1")}


def test_bad_settings_are_refused(deblurrer):
  with pytest.raises(ValueError, match="max_upload_mb must be a number of at least 0.001"):
    create_app(deblurrer, max_upload_mb=0)
  with pytest.raises(ValueError, match="multiples of 8"):
    create_app(deblurrer, tile=30)


def test_unknown_routes_and_methods_are_json_and_odd_names_are_quoted(client):
  assert client.get("/api/deblur").status_code == 405 and "error" in client.get("/api/deblur").json()
  assert client.get("/nothing").json() == {"error": "Not Found"}
  response = _post(client, 'a "b"\u00e9.png', UPLOADS["photo8.png"][0])
  assert response.headers["content-disposition"] == "inline; filename*=UTF-8''a%20%22b%22%C3%A9_deblurred.png"


def test_dual_pixel_model_needs_the_two_views():
  config = TINY_CONFIG.replace(dual_pixel=True)
  dual = Deblurrer(config, xavier_params(config))
  data = _encoded(".png", _smooth(32, 40, seed=9))
  with TestClient(create_app(dual)) as dual_client:
    assert dual_client.get("/api/health").json()["config"]["dual_pixel"] is True
    response = dual_client.post("/api/deblur", files={"image": ("c.png", data)})
    assert response.status_code == 400 and 'form field "left"' in response.json()["error"]
    views_ = {name: (f"{name}.png", data) for name in ("image", "left", "right")}
    response = dual_client.post("/api/deblur", files=views_)
  assert response.status_code == 200
  photo = images.decode_image(data, "c.png").rgb
  expected = images.encode_image("png", dual(photo, left=photo, right=photo))
  assert response.content == expected


@pytest.mark.parametrize("name", sorted(BOMBS))
def test_a_tiny_upload_declaring_a_huge_image_is_400_before_decoding(client, name, monkeypatch):
  """A 74-byte PNG (or a 631-byte JPEG, a 464-byte TIFF) declaring 30000x30000 pixels took the server
  past 9 GB; the header is checked against --max_pixels before any pixel is decoded."""
  monkeypatch.setattr(images.cv2, "imdecode", lambda *a: pytest.fail("decoded"))
  response = _post(client, name, BOMBS[name](30000, 30000))
  assert response.status_code == 400
  assert response.json()["error"] == (
    f"{name}: 30000x30000 pixels (900.0 megapixels), more than the 24 megapixels accepted (--max_pixels)."
  )


def test_the_pixel_limit_is_the_servers_setting(deblurrer):
  data = _encoded(".png", _smooth(40, 48))
  with TestClient(create_app(deblurrer, max_pixels=1000)) as small:
    response = _post(small, "photo.png", data)
    assert response.status_code == 400 and "48x40 pixels" in response.json()["error"]
    assert small.get("/api/health").json()["max_pixels"] == 1000


def test_two_image_parts_are_refused_rather_than_one_silently_winning(client):
  data = UPLOADS["photo8.png"][0]
  response = client.post("/api/deblur", files=[("image", ("a.png", data)), ("image", ("b.png", data))])
  assert response.status_code == 400
  assert response.json()["error"].startswith('The form has 2 parts named "image": send one file per field')


def test_what_the_reader_left_out_is_told_to_the_client(client):
  """A multi-page TIFF's later pages and an animated PNG's later frames were dropped with a log line only."""
  frames = [Image.fromarray(_smooth(24, 32, seed=i)) for i in range(3)]
  for fmt, name, note in (
    ("TIFF", "scan.tif", "a TIFF of 3 pages; reading page 1 only."),
    ("PNG", "anim.png", "an animated PNG of 3 frames; reading the first only."),
  ):
    buffer = io.BytesIO()
    frames[0].save(buffer, fmt, save_all=True, append_images=frames[1:])
    response = _post(client, name, buffer.getvalue())
    assert response.status_code == 200 and response.headers["x-deblur-warnings"] == note
    assert _post(client, name, buffer.getvalue(), path="/api/previews").json()["warnings"] == [note]
  plain = _post(client, "photo8.png", UPLOADS["photo8.png"][0])
  assert "x-deblur-warnings" not in plain.headers
  assert _post(client, "photo8.png", UPLOADS["photo8.png"][0], path="/api/previews").json()["warnings"] == []


def test_a_result_its_format_cannot_hold_is_400_before_the_model_runs(client, monkeypatch):
  """A 16-bit PNG named .jpg: the model ran, then the answer was a 400 about the output format."""
  monkeypatch.setattr(client.app.state.worker, "deblur", lambda *a, **k: pytest.fail("the model ran"))
  data = _encoded(".png", _smooth(24, 32, dtype=np.uint16))
  for path in ("/api/deblur?format=same", "/api/previews"):
    response = client.post(path, files={"image": ("scan.jpg", data)})
    assert response.status_code == 400, path
    assert "scan.jpg: JPEG stores 8-bit images without alpha; got 16 bits" in response.json()["error"]
    assert "holds a PNG image: rename it to .png" in response.json()["error"]


def test_a_request_past_its_deadline_is_503_and_its_tiles_stop(deblurrer, caplog):
  data = _encoded(".png", _smooth(512, 512, seed=8))  # 961 tiles of 32 pixels: seconds of work
  with TestClient(create_app(deblurrer, tile=32, overlap=16, request_timeout=0.5)) as slow:
    with caplog.at_level(logging.INFO):
      response = _post(slow, "big.png", data)
      assert response.status_code == 503
      assert "longer than this server allows (0.5 s, --request_timeout); its work stopped" in response.json()["error"]
      deadline = time.monotonic() + 120  # only bounds a hang
      while slow.app.state.worker.waiting and time.monotonic() < deadline:
        time.sleep(0.05)
    assert slow.app.state.worker.waiting == 0
  stopped = [r.getMessage() for r in caplog.records if "nobody waits for the result" in r.getMessage()]
  done = re.match(r"big.png: stopped after (\d+) of 961 tiles", stopped[0]) if len(stopped) == 1 else None
  assert done and int(done.group(1)) < 961, stopped  # the work stopped before its last tile
