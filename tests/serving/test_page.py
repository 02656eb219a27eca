"""The real server in a real browser: `python -m ifan_jax.serve` as a subprocess, driven in headless
Chromium with selenium: upload a 16-bit photo, see the three views, download the result (the same bytes
as the API's), see a broken file's message, take a screenshot (into a temporary folder: the README's,
docs/images/serve_page.png, comes from docs/make_serve_screenshot.py).

Needs Debian's chromium and chromium-driver (`apt-get install -y chromium chromium-driver`); without them
the test skips, or fails when IFAN_REQUIRE_BROWSER=1 (`.ci/run` installs them and sets it)."""

import os
import time

import cv2
import numpy as np
import pytest
from PIL import Image

from tests.io.hostile_files import png_declaring
from tests.serving import browser as web


@pytest.fixture
def server(tiny_model_dir, tmp_path):
  """The command on a free port, given a relative checkpoint, with an empty TMPDIR of its own (the test
  checks that it stays empty)."""
  temp = tmp_path / "server_tmp"
  temp.mkdir()
  checkpoint = os.path.relpath(tiny_model_dir, tmp_path)
  with web.server(checkpoint, cwd=tmp_path, env=dict(os.environ, TMPDIR=str(temp))) as url:
    yield url, temp


@pytest.fixture
def browser(tmp_path):
  web.require_chromium()
  downloads = tmp_path / "downloads"
  downloads.mkdir()
  with web.chromium(downloads) as driver:
    yield driver, downloads


def _downloaded(folder, name, timeout=30):
  deadline = time.monotonic() + timeout
  while time.monotonic() < deadline:
    if (folder / name).exists() and not list(folder.glob("*.crdownload")):
      return (folder / name).read_bytes()
    time.sleep(0.2)
  raise AssertionError(f"no download {name} in {folder}: {os.listdir(folder)}")


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
  web.set_range(driver, "zoom", 2)
  stages = driver.find_elements(By.CSS_SELECTOR, ".viewport .stage")
  assert len(stages) == 4 and all("scale(2)" in stage.get_attribute("style") for stage in stages)
  web.set_range(driver, "zoom", 1)
  web.set_range(driver, "split", 40)
  assert "inset(0px 0px 0px 40%)" in driver.find_element(By.ID, "compare-after").get_attribute("style")


def test_upload_view_download_and_a_broken_file_in_a_real_browser(server, browser, tmp_path):
  from selenium.webdriver.common.by import By  # pylint: disable=import-outside-toplevel

  url, server_tmp = server
  driver, downloads = browser
  web.open_page(driver, url)
  photo = web.photo16(tmp_path)
  web.upload(driver, photo)
  assert driver.execute_script("return document.body.dataset.state") == "done", driver.find_element(By.ID, "error").text
  _check_views(driver, (512, 384))

  link = driver.find_element(By.ID, "download")
  assert link.get_attribute("download") == "defocused16_deblurred.png"
  link.click()
  downloaded = _downloaded(downloads, "defocused16_deblurred.png")
  same, default = (web.post_image(url + route, photo) for route in ("/api/deblur?format=same", "/api/deblur"))
  assert downloaded == same == default  # a PNG's own format is PNG
  assert cv2.imdecode(np.frombuffer(downloaded, np.uint8), cv2.IMREAD_UNCHANGED).dtype == np.uint16
  screenshot = tmp_path / "serve_page.png"
  web.save_screenshot(driver, screenshot)
  assert Image.open(screenshot).size == web.WINDOW
  resources = driver.execute_script("return performance.getEntriesByType('resource').map(r => r.name);")
  assert resources and all(name.startswith(url) for name in resources), resources  # nothing from elsewhere

  broken = tmp_path / "broken.png"
  broken.write_bytes(b"\x89PNG\r\n\x1a\n not an image")
  web.upload(driver, broken)
  message = driver.find_element(By.ID, "error").text
  assert message == "broken.png: cannot decode the image (unreadable or truncated file)."

  pages = tmp_path / "pages.tif"  # The reader takes page 1: the page says so.
  first, *others = (Image.fromarray(np.full((48, 64, 3), 60 * i, np.uint8)) for i in range(3))
  first.save(pages, save_all=True, append_images=others)
  web.upload(driver, pages)
  assert driver.execute_script("return document.body.dataset.state") == "done"
  assert driver.find_element(By.ID, "warnings").text == "a TIFF of 3 pages; reading page 1 only."
  bomb = tmp_path / "bomb.png"
  bomb.write_bytes(png_declaring(30000, 30000))
  web.upload(driver, bomb)
  assert not driver.find_element(By.ID, "warnings").is_displayed()
  assert driver.find_element(By.ID, "error").text == (
    "bomb.png: 30000x30000 pixels (900.0 megapixels), more than the 24 megapixels accepted (--max_pixels)."
  )
  assert not os.listdir(server_tmp)  # the server wrote no temporary file


def test_without_chromium_the_browser_test_skips_naming_the_install_and_fails_when_required(monkeypatch, tmp_path):
  monkeypatch.setattr(web, "CHROMIUM", (str(tmp_path / "chromium"), "/usr/bin/chromedriver"))
  monkeypatch.delenv("IFAN_REQUIRE_BROWSER", raising=False)
  with pytest.raises(pytest.skip.Exception) as skipped:
    web.require_chromium()
  reason = str(skipped.value)
  assert (
    reason
    == f"no {tmp_path / 'chromium'}: the browser test needs `apt-get install -y chromium chromium-driver` (as root)"
  )

  monkeypatch.setattr(web, "CHROMIUM", (str(tmp_path / "chromium"), str(tmp_path / "chromedriver")))
  monkeypatch.setenv("IFAN_REQUIRE_BROWSER", "1")
  with pytest.raises(pytest.fail.Exception) as failed:
    web.require_chromium()
  assert str(failed.value).startswith(f"no {tmp_path / 'chromium'} or {tmp_path / 'chromedriver'}: the browser")
  assert "\n" not in str(failed.value) and str(failed.value).endswith(
    "IFAN_REQUIRE_BROWSER=1 says the browser is required."
  )

  monkeypatch.setenv("IFAN_REQUIRE_BROWSER", "0")  # only 1 requires it
  with pytest.raises(pytest.skip.Exception):
    web.require_chromium()
