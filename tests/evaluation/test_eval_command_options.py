"""`python -m ifan_jax.eval` options docs/evaluation.md promises, through the command: the default --out
(results/<dataset>, under the current folder) and --save_outputs=false."""

import json
import os

from tests.conftest import run_command
from tests.evaluation.test_protocol import _write_folder


def test_default_out_and_no_saved_outputs(tiny_model_dir, tmp_path):
  _write_folder(tmp_path / "set", ["a", "b"], with_target=True)
  model = os.path.relpath(tiny_model_dir, tmp_path)
  args = ["--checkpoint", model, "--dataset", "folder:set", "--save_outputs=false", "--figures", "0"]
  proc = run_command("ifan_jax.eval", args, cwd=tmp_path)
  assert proc.returncode == 0, proc.stderr[-3000:]
  out = tmp_path / "results" / "folder_set"
  assert f"Per-image scores, summary, outputs and figures: {os.path.join('results', 'folder_set')}" in proc.stdout
  # No image written, and no empty outputs/ or figures/ folder; the scores are all there.
  assert sorted(str(p.relative_to(out)) for p in out.rglob("*")) == ["per_image.csv", "summary.json"]
  summary = json.loads((out / "summary.json").read_text())
  assert summary["images"] == summary["with_ground_truth"] == 2
