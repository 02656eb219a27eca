"""The server's page in a real browser: `python -m ifan_jax.serve` as a subprocess and Debian's headless
Chromium driven by selenium. Shared by the browser test (tests/serving/test_page.py) and the script that
makes the README's screenshot (docs/make_serve_screenshot.py).

Without chromium or chromedriver the browser test skips, saying how to install them, unless
`IFAN_REQUIRE_BROWSER=1` (set by `.ci/run`, which installs them) makes the absence a failure.
"""

import contextlib
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

WINDOW = (1200, 800)
CHROMIUM = ("/usr/bin/chromium", "/usr/bin/chromedriver")
INSTALL = "apt-get install -y chromium chromium-driver"
REQUIRE_BROWSER = "IFAN_REQUIRE_BROWSER"


def require_chromium():
  """Skips the calling test when chromium or its driver is missing, or fails it under IFAN_REQUIRE_BROWSER=1."""
  missing = [path for path in CHROMIUM if not os.path.exists(path)]
  if not missing:
    return
  reason = f"no {' or '.join(missing)}: the browser test needs `{INSTALL}` (as root)"
  if os.environ.get(REQUIRE_BROWSER) == "1":
    pytest.fail(f"{reason}; {REQUIRE_BROWSER}=1 says the browser is required.", pytrace=False)
  pytest.skip(reason)


def _free_port():
  with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    return s.getsockname()[1]


def _wait_for_health(url, proc, timeout=180):
  """Waits for the server to answer; the deadline only bounds a hang (a first start compiles nothing)."""
  deadline = time.monotonic() + timeout
  while time.monotonic() < deadline:
    if proc.poll() is not None:
      raise AssertionError(f"the server exited with {proc.returncode}:\n{proc.stderr.read()[-3000:]}")
    try:
      with urllib.request.urlopen(f"{url}/api/health", timeout=5) as response:
        return response.read()
    except (urllib.error.URLError, ConnectionError):
      time.sleep(0.5)  # a poll interval, not a wait for something to happen by itself
  raise AssertionError(f"{url}/api/health did not answer within {timeout} s")


@contextlib.contextmanager
def server(checkpoint, *, cwd, env=None):
  """`python -m ifan_jax.serve --checkpoint CHECKPOINT` from `cwd` on a free port; yields its URL."""
  port = _free_port()
  env = dict(env or os.environ, PYTHONPATH=str(REPO))
  command = [sys.executable, "-m", "ifan_jax.serve", "--checkpoint", str(checkpoint), "--port", str(port)]
  proc = subprocess.Popen(command, cwd=cwd, env=env, stderr=subprocess.PIPE, text=True)
  url = f"http://127.0.0.1:{port}"
  try:
    _wait_for_health(url, proc)
    yield url
  finally:
    proc.terminate()
    proc.wait(timeout=30)


@contextlib.contextmanager
def chromium(downloads):
  """Headless Chromium showing pages at WINDOW's size, saving downloads into the folder `downloads`."""
  from selenium import webdriver  # pylint: disable=import-outside-toplevel
  from selenium.webdriver.chrome.service import Service  # pylint: disable=import-outside-toplevel

  options = webdriver.ChromeOptions()
  options.binary_location = CHROMIUM[0]
  for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--hide-scrollbars"):
    options.add_argument(argument)
  driver = webdriver.Chrome(service=Service(CHROMIUM[1]), options=options)
  metrics = {"width": WINDOW[0], "height": WINDOW[1], "deviceScaleFactor": 1, "mobile": False}
  driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)  # the page itself is 1200x800
  driver.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)})
  try:
    yield driver
  finally:
    driver.quit()


def photo16(folder):
  """The README's example photo (examples/defocused.jpg) as a 16-bit PNG in `folder`."""
  rgb8 = cv2.imread(str(REPO / "examples" / "defocused.jpg"))
  path = folder / "defocused16.png"
  cv2.imwrite(str(path), rgb8.astype(np.uint16) * 257)
  return path


def post_image(url, path):
  """POSTs the file `path` as the form field `image` to `url` (e.g. `.../api/deblur?format=same`); the body."""
  boundary = "----ifan-test"
  body = (
    f'--{boundary}\r\nContent-Disposition: form-data; name="image"; filename="{path.name}"\r\n\r\n'.encode()
    + path.read_bytes()
    + f"\r\n--{boundary}--\r\n".encode()
  )
  headers = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
  with urllib.request.urlopen(urllib.request.Request(url, data=body, headers=headers), timeout=120) as response:
    return response.read()


def wait(driver, condition, timeout=120):
  """Waits until the JavaScript `condition` returns true; the deadline only bounds a hang."""
  from selenium.webdriver.support.ui import WebDriverWait  # pylint: disable=import-outside-toplevel

  return WebDriverWait(driver, timeout).until(lambda d: d.execute_script(condition))


def open_page(driver, url):
  driver.get(url + "/")
  wait(driver, "return document.getElementById('model').textContent.includes('IFAN')", timeout=30)


def upload(driver, path):
  """Drops `path` on the page and waits until it is deblurred or refused."""
  from selenium.webdriver.common.by import By  # pylint: disable=import-outside-toplevel

  driver.execute_script("document.body.dataset.state = '';")
  driver.find_element(By.ID, "file").send_keys(str(path))
  wait(driver, "return ['done', 'failed'].includes(document.body.dataset.state)")


def set_range(driver, element_id, value):
  """Moves the page's slider `element_id` to `value`, as a user's drag does."""
  driver.execute_script(
    "const e = document.getElementById(arguments[0]); e.value = arguments[1]; e.dispatchEvent(new Event('input'));",
    element_id,
    value,
  )


def save_screenshot(driver, path):
  """The page as it is, in 256 colours (a third of the size, no visible change), as a PNG at `path`."""
  page = Image.open(io.BytesIO(driver.get_screenshot_as_png())).convert("RGB")
  assert page.size == WINDOW, page.size
  page.quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(path, optimize=True)
