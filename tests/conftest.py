"""Shared fixtures: the golden outputs of the official code in ../shared/golden."""

import json
import os
import pathlib

import numpy as np
import pytest

GOLDEN = pathlib.Path(os.environ.get(
    "IFAN_GOLDEN_DIR", pathlib.Path(__file__).resolve().parents[2] / "shared" / "golden"))


@pytest.fixture(scope="session")
def golden_dir():
  # A missing fixture folder is a failure, not a skip: parity is the point of these tests.
  assert GOLDEN.is_dir(), f"golden fixtures not found at {GOLDEN}; set IFAN_GOLDEN_DIR"
  return GOLDEN


@pytest.fixture(scope="session")
def golden_meta(golden_dir):
  return json.loads((golden_dir / "golden_meta.json").read_text())


def load_npz(path):
  with np.load(path) as data:
    return dict(data)
