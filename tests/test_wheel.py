"""The wheel works without the source tree: built from the package's files alone, installed into a fresh
virtualenv, and its commands run from another folder with nothing of the checkout on the path.

The fresh virtualenv takes the dependencies (jax, torch, TFDS, ...) from the one running the tests,
through a `.pth` line naming its site-packages: a path line in a `.pth` file does not run that folder's
own `.pth` files, so an editable install of the checkout there is not picked up (checked below).
About a minute: run alone with `python -m pytest -m wheel`, or leave out with `-m "not wheel"`.
"""

import json
import os
import pathlib
import shutil
import subprocess
import sys
import sysconfig
import time
import urllib.request

import cv2
import numpy as np
import pytest

from ifan_jax import Deblurrer
from ifan_jax.io import images
from ifan_jax.saved_models import torch_weights
from tests.conftest import GOLDEN, REPO
from tests.data.test_data_own_photos import write_pairs
from tests.serving.test_server_process import _free_port

pytestmark = pytest.mark.wheel

# What a wheel is built from: the package and what pyproject.toml reads. Nothing else of the checkout.
SOURCES = ("pyproject.toml", "README.md", "ifan_jax")
TINY_MODEL = ["--config.model.channels=4", "--config.model.iterations=2", "--config.model.res_num=1"]
TINY_MODEL += ["--config.model.reblur_iterations=2", "--config.crop_size=16", "--config.batch_size=2"]


def _run(command, *, cwd, env, timeout=300):
  done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False)
  assert done.returncode == 0, f"{command}:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
  return done


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
  """(python of a fresh venv with the wheel installed, its site-packages, a clean environment, a work folder)."""
  tmp = tmp_path_factory.mktemp("wheel")
  env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
  (tmp / "src").mkdir()
  for name in SOURCES:
    if (REPO / name).is_dir():
      shutil.copytree(REPO / name, tmp / "src" / name, ignore=shutil.ignore_patterns("__pycache__"))
    else:
      shutil.copy(REPO / name, tmp / "src" / name)
  pip = [sys.executable, "-m", "pip"]
  _run([*pip, "wheel", "--no-deps", "--no-build-isolation", "--no-index", "./src", "-w", "dist"], cwd=tmp, env=env)
  (wheel,) = (tmp / "dist").glob("ifan_jax-*.whl")
  _run([sys.executable, "-m", "venv", "--without-pip", "venv"], cwd=tmp, env=env)
  python = tmp / "venv" / "bin" / "python"
  site = _run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], cwd=tmp, env=env)
  site = site.stdout.strip()
  (tmp / site / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
  _run([*pip, "--python", python, "install", "--no-deps", "--no-index", wheel], cwd=tmp, env=env)
  (tmp / "work").mkdir()
  return python, site, env, tmp / "work"


def test_the_wheel_holds_the_configs_and_the_package_data(installed):
  python, site, env, work = installed
  done = _run([python, "-c", "import ifan_jax; print(ifan_jax.__file__)"], cwd=work, env=env)
  assert done.stdout.strip() == os.path.join(site, "ifan_jax", "__init__.py")
  package = REPO / "ifan_jax"
  shipped = {
    "configs/synthetic.py",
    "configs/pairs.py",
    "serving/static/index.html",
    "serving/static/app.js",
    "serving/static/style.css",
    "data/synthetic_dp/README.md",
  }
  for name in shipped:
    assert (package / name).read_bytes() == (pathlib.Path(site) / "ifan_jax" / name).read_bytes(), name


def test_deblur_and_convert_the_small_official_checkpoint_from_the_wheel(installed, tmp_path):
  python, _, env, work = installed
  weights = os.path.relpath(GOLDEN / "ifan_small.pytorch", work)  # a relative path, from another folder
  photo = np.random.default_rng(0).integers(0, 255, (40, 56, 3), np.uint8)
  cv2.imwrite(str(work / "photo.png"), photo)
  # Its filter size is 5: converted first (a .pytorch file given directly is read with the official 3).
  _run([python, "-m", "ifan_jax.convert", weights, "small", "--filter_size", "5"], cwd=work, env=env)
  _run([python, "-m", "ifan_jax.deblur", "photo.png", "--checkpoint", "small", "--out", "out"], cwd=work, env=env)
  torch_weights.convert_file(GOLDEN / "ifan_small.pytorch", tmp_path / "small", filter_size=5)
  expected = Deblurrer.from_checkpoint(tmp_path / "small")(images.read_image(work / "photo.png").rgb)
  np.testing.assert_array_equal(cv2.imread(str(work / "out" / "photo.png"))[..., ::-1], images.quantize(expected, 8))


def test_serve_answers_its_page_and_static_files_from_the_wheel(installed, tiny_model_dir):
  python, _, env, work = installed
  port = _free_port()
  log_path = work / "serve.log"
  with open(log_path, "w") as log:
    server = subprocess.Popen(
      [python, "-m", "ifan_jax.serve", "--checkpoint", os.path.relpath(tiny_model_dir, work), "--port", str(port)],
      cwd=work,
      env=env,
      stdout=log,
      stderr=subprocess.STDOUT,
    )
  try:
    deadline = time.monotonic() + 180
    while "Uvicorn running on" not in log_path.read_text():
      assert server.poll() is None and time.monotonic() < deadline, log_path.read_text()[-3000:]
      time.sleep(0.2)
    for path, file in (("/", "index.html"), ("/static/app.js", "app.js"), ("/static/style.css", "style.css")):
      with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=30) as response:
        assert response.status == 200
        assert response.read() == (REPO / "ifan_jax" / "serving" / "static" / file).read_bytes(), path
  finally:
    server.kill()
    server.wait(timeout=30)


def test_build_a_pairs_dataset_and_train_with_a_shipped_config_from_the_wheel(installed):
  python, _, env, work = installed
  write_pairs(work / "photos", scenes=2, splits=("train", "test"))
  build = [python, "-m", "ifan_jax.data.build", "pairs", "--manual_dir", "photos", "--config", "mine"]
  _run([*build, "--data_dir", "tfds"], cwd=work, env=env)
  assert (work / "tfds" / "pairs" / "mine").is_dir()
  train = [python, "-m", "ifan_jax.train", "--config", "configs/pairs.py", "--workdir", "run"]
  train += ["--config.dataset=pairs/mine", "--config.data_dir=tfds", *TINY_MODEL, "--config.total_steps=1"]
  done = _run(train, cwd=work, env=env)
  assert "Validation PSNR after 1 steps (2 images of pairs/mine test)" in done.stdout
  final = json.loads((work / "run" / "final_metrics.json").read_text())
  assert final["step"] == 1 and final["validation_split"] == "test" and np.isfinite(final["model_psnr"])
