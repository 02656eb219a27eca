"""Each figure of the GPU suite as one JSON line: printed and appended to the suite's file as soon as it is known.

A part that is cut off by its time limit, or fails in one case, still leaves every figure it had.
JAX-free, so that the official code's parts never start JAX on the device.
"""

import json
import sys
import time
import traceback

RECORDS_FILE = "gpu_suite.jsonl"


def describe(record):
  """One line for a person: the part, the name, then each figure."""
  figures = []
  for key, value in record.items():
    if key in ("part", "kind", "name"):
      continue
    figures.append(f"{key}={value:.4g}" if isinstance(value, float) else f"{key}={value}")
  return f"[{record['part']}] {record['kind']}: {record['name']}  " + "  ".join(figures)


class Recorder:
  """Writes a part's records to `out/gpu_suite.jsonl`; skips the cases that start past `deadline` (epoch s)."""

  def __init__(self, out, part, deadline):
    self.path, self.part, self.deadline = out / RECORDS_FILE, part, deadline

  def add(self, kind, name, **figures):
    record = {"part": self.part, "kind": kind, "name": name, **figures}
    with self.path.open("a") as file:
      file.write(json.dumps(record) + "\n")
    print(describe(record), flush=True)

  def run(self, name, measure, **case):
    """Records `case` and `measure()`'s figures (its "kind" key, default "time") under `name`.

    A case that would start past the deadline is a "skipped" record, a failure an "error" record.
    """
    if time.time() > self.deadline:
      self.add("skipped", name, **case, reason="time budget spent")
      return
    try:
      figures = measure()
    except Exception as error:  # One case's failure must not cost the others their figures.
      traceback.print_exc(file=sys.stderr)
      self.add("error", name, **case, error=f"{type(error).__name__}: {error}"[:1500])
      return
    self.add(figures.pop("kind", "time"), name, **case, **figures)
