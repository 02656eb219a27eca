"""docs/evaluation.md: seconds per image leave compilation out (each new input size runs once untimed first).
Checked on a clock that a stand-in model advances: 100 s the first time it sees a size, 1 s after that."""

import types

import numpy as np

from ifan_jax.evaluation import protocol, sources
from tests.evaluation.test_protocol import _write_folder


class _CompilingModel:
  """The Deblurrer's interface: returns its input, and charges a fake clock as XLA's compilation would."""

  config = types.SimpleNamespace(dual_pixel=False)

  def __init__(self, clock):
    self.clock, self.sizes = clock, set()

  def predict(self, image, **views):
    del views
    self.clock[0] += 1.0 if image.shape in self.sizes else 101.0
    self.sizes.add(image.shape)
    return {"result": image, "disparity": np.zeros((*image.shape[:2], 1), np.float32)}


def test_seconds_per_image_leave_compilation_out(tmp_path, monkeypatch):
  _write_folder(tmp_path / "small", ["a", "b"], with_target=True)
  clock = [0.0]
  monkeypatch.setattr(protocol, "time", types.SimpleNamespace(perf_counter=lambda: clock[0]))
  source = sources.open_source(f"folder:{tmp_path / 'small'}")
  scores, summary = protocol.evaluate(_CompilingModel(clock), source, tmp_path / "out", num_figures=0)
  assert [s.seconds for s in scores] == [1.0, 1.0]  # the first image's 100 s of compilation are not in it
  assert summary["seconds_per_image"] == 1.0
  assert clock[0] == 101.0 + 2.0  # it did run once untimed
