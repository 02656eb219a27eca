"""Makes the README's screenshot of the server's page: a 16-bit photo deblurred in headless Chromium.

  python docs/make_serve_screenshot.py [--checkpoint DIR|FILE.pytorch] [--out docs/images/serve_page.png]

Starts `python -m ifan_jax.serve`, uploads examples/defocused.jpg as a 16-bit PNG, waits for the result
and saves the 1200x800 page in 256 colours. Without --checkpoint it serves the tests' tiny random-weight
model (an untrained network's "deblurred" image and disparity), as the committed screenshot does. Needs
the test extra (selenium) and Debian's chromium (`apt-get install -y chromium chromium-driver`); it drives
the page with the browser test's helpers (tests/serving/browser.py). Run it from the repository root.
"""

import pathlib
import sys
import tempfile

from absl import app, flags

REPO = pathlib.Path(__file__).resolve().parents[1]

_CHECKPOINT = flags.DEFINE_string(
  "checkpoint", None, "The model to serve; by default the tests' tiny random-weight model."
)
_OUT = flags.DEFINE_string("out", "docs/images/serve_page.png", "PNG to write.")


def main(argv):
  del argv
  sys.path.insert(0, str(REPO))  # the tests' helpers, as the test suite imports them
  from ifan_jax.saved_models import model_dir  # pylint: disable=import-outside-toplevel
  from tests import conftest  # pylint: disable=import-outside-toplevel
  from tests.serving import browser  # pylint: disable=import-outside-toplevel

  missing = [path for path in browser.CHROMIUM if not pathlib.Path(path).exists()]
  if missing:
    raise app.UsageError(f"no {' or '.join(missing)}: install them with `{browser.INSTALL}` (as root).")
  out = pathlib.Path(_OUT.value).resolve()
  with tempfile.TemporaryDirectory() as temp:
    temp = pathlib.Path(temp)
    checkpoint = pathlib.Path(_CHECKPOINT.value).resolve() if _CHECKPOINT.value else temp / "tiny"
    if not _CHECKPOINT.value:
      model_dir.save_model(checkpoint, conftest.TINY_CONFIG, conftest.xavier_params(conftest.TINY_CONFIG))
    (temp / "downloads").mkdir()
    with browser.server(checkpoint, cwd=temp) as url, browser.chromium(temp / "downloads") as driver:
      browser.open_page(driver, url)
      browser.upload(driver, browser.photo16(temp))
      state = driver.execute_script("return document.body.dataset.state")
      if state != "done":
        error = driver.execute_script("return document.getElementById('error').textContent")
        raise RuntimeError(f"the page did not deblur the photo: {error}")
      browser.set_range(driver, "split", 40)  # the before/after slider, a little left of the middle
      browser.save_screenshot(driver, out)
  print(f"wrote {out}")


if __name__ == "__main__":
  app.run(main)
