"""The real server in a real browser: `python -m ifan_jax.serve` as a subprocess, driven in headless
Chromium with selenium: upload a 16-bit photo, see the three views, download the result (the same bytes
as the API's), see a broken file's message; saves the README's screenshot, docs/images/serve_page.png.

Needs Debian's chromium and chromium-driver (`.ci/run` installs them); without them the test fails."""

import io
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import cv2
import numpy as np
import pytest
from PIL import Image

from tests.conftest import REPO
from tests.io.hostile_files import png_declaring

SCREENSHOT = REPO / "docs" / "images" / "serve_page.png"
WINDOW = (1200, 800)
CHROMIUM = ("/usr/bin/chromium", "/usr/bin/chromedriver")
INSTALL = "apt-get update && apt-get install -y chromium chromium-driver"


def _free_port():
  with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    return s.getsockname()[1]


def _wait_for_health(url, proc, timeout=180):
  deadline = time.monotonic() + timeout
  while time.monotonic() < deadline:
    if proc.poll() is not None:
      raise AssertionError(f"the server exited with {proc.returncode}:\n{proc.stderr.read()[-3000:]}")
    try:
      with urllib.request.urlopen(f"{url}/api/health", timeout=5) as response:
        return response.read()
    except (urllib.error.URLError, ConnectionError):
      time.sleep(0.5)
  raise AssertionError(f"{url}/api/health did not answer within {timeout} s")


@pytest.fixture
def server(tiny_model_dir, tmp_path):
  """The command on a free port, given a relative checkpoint, with an empty TMPDIR of its own (the test
  checks that it stays empty)."""
  port, temp = _free_port(), tmp_path / "server_tmp"
  temp.mkdir()
  env = dict(os.environ, PYTHONPATH=str(REPO), TMPDIR=str(temp))
  checkpoint = os.path.relpath(tiny_model_dir, tmp_path)
  command = [sys.executable, "-m", "ifan_jax.serve", "--checkpoint", checkpoint, "--port", str(port)]
  proc = subprocess.Popen(command, cwd=tmp_path, env=env, stderr=subprocess.PIPE, text=True)
  url = f"http://127.0.0.1:{port}"
  try:
    _wait_for_health(url, proc)
    yield url, temp
  finally:
    proc.terminate()
    proc.wait(timeout=30)


@pytest.fixture
def browser(tmp_path):
  missing = [path for path in CHROMIUM if not os.path.exists(path)]
  if missing:
    pytest.fail(f"The browser test needs {' and '.join(missing)}: install them with `{INSTALL}` (as root).")
  from selenium import webdriver  # pylint: disable=import-outside-toplevel
  from selenium.webdriver.chrome.service import Service  # pylint: disable=import-outside-toplevel

  options = webdriver.ChromeOptions()
  options.binary_location = CHROMIUM[0]
  for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--hide-scrollbars"):
    options.add_argument(argument)
  driver = webdriver.Chrome(service=Service(CHROMIUM[1]), options=options)
  metrics = {"width": WINDOW[0], "height": WINDOW[1], "deviceScaleFactor": 1, "mobile": False}
  driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)  # the page itself is 1200x800
  downloads = tmp_path / "downloads"
  downloads.mkdir()
  driver.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)})
  try:
    yield driver, downloads
  finally:
    driver.quit()


def _photo(tmp_path):
  """The README's example photo as a 16-bit PNG."""
  rgb8 = cv2.imread(str(REPO / "examples" / "defocused.jpg"))
  path = tmp_path / "defocused16.png"
  cv2.imwrite(str(path), rgb8.astype(np.uint16) * 257)
  return path


def _api(url, path, route="/api/deblur?format=same"):
  boundary = "----ifan-test"
  body = (
    f'--{boundary}\r\nContent-Disposition: form-data; name="image"; filename="{path.name}"\r\n\r\n'.encode()
    + path.read_bytes()
    + f"\r\n--{boundary}--\r\n".encode()
  )
  request = urllib.request.Request(
    url + route, data=body, headers={"Content-Type": f"multipart/form-data; boundary={boundary}"}
  )
  with urllib.request.urlopen(request, timeout=120) as response:
    return response.read()


def _wait(driver, condition, timeout=120):
  from selenium.webdriver.support.ui import WebDriverWait  # pylint: disable=import-outside-toplevel

  return WebDriverWait(driver, timeout).until(lambda d: d.execute_script(condition))


def _upload(driver, path):
  from selenium.webdriver.common.by import By  # pylint: disable=import-outside-toplevel

  driver.execute_script("document.body.dataset.state = '';")
  driver.find_element(By.ID, "file").send_keys(str(path))
  _wait(driver, "return ['done', 'failed'].includes(document.body.dataset.state)")


def _downloaded(folder, name, timeout=30):
  deadline = time.monotonic() + timeout
  while time.monotonic() < deadline:
    if (folder / name).exists() and not list(folder.glob("*.crdownload")):
      return (folder / name).read_bytes()
    time.sleep(0.2)
  raise AssertionError(f"no download {name} in {folder}: {os.listdir(folder)}")


def _save_screenshot(driver):
  """The page as it is, in 256 colours (a third of the size, no visible change) for the README."""
  page = Image.open(io.BytesIO(driver.get_screenshot_as_png())).convert("RGB")
  assert page.size == WINDOW
  page.quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(SCREENSHOT, optimize=True)


def _set_range(driver, element_id, value):
  driver.execute_script(
    "const e = document.getElementById(arguments[0]); e.value = arguments[1]; e.dispatchEvent(new Event('input'));",
    element_id,
    value,
  )


def _check_views(driver, size):
  """Every view shows an image of `size`; the zoom and the before/after slider act on the views."""
  from selenium.webdriver.common.by import By  # pylint: disable=import-outside-toplevel

  assert (
    driver.find_element(By.ID, "results").is_displayed() and not driver.find_element(By.ID, "status").is_displayed()
  )
  for image in ("compare-before", "compare-after", "blurred", "result", "disparity"):
    shown = driver.execute_script(
      "const i = document.getElementById(arguments[0]); return [i.naturalWidth, i.naturalHeight];", image
    )
    assert shown == list(size), image
  _set_range(driver, "zoom", 2)
  stages = driver.find_elements(By.CSS_SELECTOR, ".viewport .stage")
  assert len(stages) == 4 and all("scale(2)" in stage.get_attribute("style") for stage in stages)
  _set_range(driver, "zoom", 1)
  _set_range(driver, "split", 40)
  assert "inset(0px 0px 0px 40%)" in driver.find_element(By.ID, "compare-after").get_attribute("style")


def test_upload_view_download_and_a_broken_file_in_a_real_browser(server, browser, tmp_path):
  from selenium.webdriver.common.by import By  # pylint: disable=import-outside-toplevel

  url, server_tmp = server
  driver, downloads = browser
  driver.get(url + "/")
  _wait(driver, "return document.getElementById('model').textContent.includes('IFAN')", timeout=30)
  photo = _photo(tmp_path)
  _upload(driver, photo)
  assert driver.execute_script("return document.body.dataset.state") == "done", driver.find_element(By.ID, "error").text
  _check_views(driver, (512, 384))

  link = driver.find_element(By.ID, "download")
  assert link.get_attribute("download") == "defocused16_deblurred.png"
  link.click()
  downloaded = _downloaded(downloads, "defocused16_deblurred.png")
  assert downloaded == _api(url, photo) == _api(url, photo, "/api/deblur")  # a PNG's own format is PNG
  assert cv2.imdecode(np.frombuffer(downloaded, np.uint8), cv2.IMREAD_UNCHANGED).dtype == np.uint16
  _save_screenshot(driver)
  resources = driver.execute_script("return performance.getEntriesByType('resource').map(r => r.name);")
  assert resources and all(name.startswith(url) for name in resources), resources  # nothing from elsewhere

  broken = tmp_path / "broken.png"
  broken.write_bytes(b"\x89PNG\r\n\x1a\n not an image")
  _upload(driver, broken)
  message = driver.find_element(By.ID, "error").text
  assert message == "broken.png: cannot decode the image (unreadable or truncated file)."

  pages = tmp_path / "pages.tif"  # The reader takes page 1: the page says so.
  first, *others = (Image.fromarray(np.full((48, 64, 3), 60 * i, np.uint8)) for i in range(3))
  first.save(pages, save_all=True, append_images=others)
  _upload(driver, pages)
  assert driver.execute_script("return document.body.dataset.state") == "done"
  assert driver.find_element(By.ID, "warnings").text == "a TIFF of 3 pages; reading page 1 only."
  bomb = tmp_path / "bomb.png"
  bomb.write_bytes(png_declaring(30000, 30000))
  _upload(driver, bomb)
  assert not driver.find_element(By.ID, "warnings").is_displayed()
  assert driver.find_element(By.ID, "error").text == (
    "bomb.png: 30000x30000 pixels (900.0 megapixels), more than the 24 megapixels accepted (--max_pixels)."
  )
  assert not os.listdir(server_tmp)  # the server wrote no temporary file
