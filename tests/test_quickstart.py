"""docs/quickstart.ipynb runs top to bottom in a Jupyter kernel (so it cannot rot) and is stored without outputs."""

import os

import nbformat
from nbclient import NotebookClient

from tests.conftest import REPO

NOTEBOOK = REPO / "docs" / "quickstart.ipynb"


def _texts(notebook):
  """Everything the code cells printed or displayed as text, in order."""
  parts = []
  for cell in notebook.cells:
    for output in cell.get("outputs", ()):
      parts.append(output.get("text", "") or output.get("data", {}).get("text/plain", ""))
  return "".join(parts)


def test_the_notebook_is_stored_without_outputs():
  notebook = nbformat.read(NOTEBOOK, as_version=4)
  nbformat.validate(notebook)
  code = [cell for cell in notebook.cells if cell.cell_type == "code"]
  assert code and all(cell.outputs == [] and cell.execution_count is None for cell in code)


def test_the_quickstart_notebook_runs_top_to_bottom(tmp_path):
  notebook = nbformat.read(NOTEBOOK, as_version=4)
  # The kernel imports this checkout, starts in docs/ as a reader's would, and writes under tmp_path.
  env = dict(os.environ, PYTHONPATH=str(REPO), TMPDIR=str(tmp_path))
  client = NotebookClient(notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": REPO / "docs"}})
  client.execute(env=env)  # a cell that raises fails the test, naming the cell
  text = _texts(notebook)
  assert f"ifan_jax from {REPO / 'ifan_jax'} ; writing into {tmp_path}" in text
  assert "photo (384, 512, 3) result (384, 512, 3) disparity (48, 64)" in text
  table = [line for line in text.splitlines() if line.startswith("| ")]
  assert table[0].startswith("| Model | PSNR ↑") and table[1].startswith("| Input | ")
  assert table[2].startswith("| ifan_small | ")
  assert "Images the model made worse than its input, of 3: PSNR" in text
  assert "astronaut," in text and "input_psnr" in text  # per_image.csv
  assert '"step": 4' in text and '"validation_split": "validation"' in text
  assert "deblurred the photo with the trained model: (384, 512, 3)" in text
  figures = [o for c in notebook.cells for o in c.get("outputs", ()) if "image/png" in o.get("data", {})]
  assert len(figures) == 1
