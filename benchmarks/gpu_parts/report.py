"""The suite's records as `gpu_suite.json` and a Markdown page (`gpu_suite.md`): tables, then the goals."""

import json

from benchmarks.gpu_parts.recording import RECORDS_FILE

# The goals of the GPU work (issue "On a GPU at last"): (text, how it is judged).
IAC_ROOFLINE_SHARE = 0.70
INFERENCE_MS = {"float32": 14.0, "bfloat16": 7.0}  # 1280x720, the paper's 0.014 s per image on a GPU.
INFERENCE_GOAL_SIZE = "1280x720"
TRAINING_SPEEDUP = 1.3
OFFICIAL_MODE = {"float32": "float32", "bfloat16": "amp"}  # What each of our dtypes is held against.


def read_records(out):
  path = out / RECORDS_FILE
  if not path.exists():
    return []
  return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _of(records, kind, part=None):
  return [r for r in records if r["kind"] == kind and (part is None or r["part"] == part)]


def _num(value, digits=2):
  return "" if value is None else f"{value:.{digits}f}"


def _table(header, rows):
  lines = ["| " + " | ".join(header) + " |", "| " + " | ".join("---" for _ in header) + " |"]
  return lines + ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]


def goals(records):
  """[(goal, measured, met)] for every goal the records have figures for."""
  results = []
  iac = _of(records, "time", "iac_time")
  for shape, what in sorted({(r["shape"], r["what"]) for r in iac}):
    best = max(
      (r for r in iac if (r["shape"], r["what"]) == (shape, what) and r.get("share")),
      default=None,
      key=lambda r: r["share"],
    )
    if best:
      results.append(
        (
          f"IAC {shape} {what} at >= {IAC_ROOFLINE_SHARE:.0%} of the bandwidth roofline",
          f"{best['share']:.0%} ({best['impl']}, {best['gbs']:.0f} GB/s)",
          best["share"] >= IAC_ROOFLINE_SHARE,
        )
      )
  ours = [r for r in _of(records, "time", "inference") if r["size"] == INFERENCE_GOAL_SIZE]
  for dtype, limit in INFERENCE_MS.items():
    best = min((r for r in ours if r["dtype"] == dtype), default=None, key=lambda r: r["ms_host"])
    if best:
      results.append(
        (
          f"{INFERENCE_GOAL_SIZE} inference {dtype} under {limit:g} ms",
          f"{best['ms_host']:.2f} ms ({best['impl']})",
          best["ms_host"] < limit,
        )
      )
  steps = [r for r in _of(records, "time") if "steps_per_s" in r]
  for dtype, mode in OFFICIAL_MODE.items():
    ours = max(
      (r for r in steps if (r["who"], r["dtype"]) == ("ifan_jax", dtype)), default=None, key=lambda r: r["steps_per_s"]
    )
    theirs = next((r for r in steps if (r["who"], r["dtype"]) == ("official", mode)), None)
    if ours and theirs:
      ratio = ours["steps_per_s"] / theirs["steps_per_s"]
      results.append(
        (
          f"training step {dtype} at >= {TRAINING_SPEEDUP}x the official {mode}",
          f"{ratio:.2f}x ({ours.get('impl', 'xla')})",
          ratio >= TRAINING_SPEEDUP,
        )
      )
  return results


def markdown(records):
  lines = ["# GPU suite", ""]
  for r in _of(records, "device"):
    lines.append(f"- {r['part']}: " + ", ".join(f"{k} {v}" for k, v in r.items() if k not in ("part", "kind", "name")))
  checks = _of(records, "check")
  if checks:
    lines += ["", "## Correctness", ""]
    lines += _table(
      ["check", "max abs diff", "tolerance", "ok"],
      [(r["name"], f"{r['max_abs_diff']:.2e}", f"{r['tolerance']:.0e}", r["ok"]) for r in checks],
    )
  copy = _of(records, "bandwidth")
  iac = _of(records, "time", "iac_time")
  if iac or copy:
    lines += ["", "## IAC alone (float32)", ""]
    lines += [f"Device-to-device copy: {r['gbs']:.0f} GB/s ({r['mib']} MiB read and written)." for r in copy]
    lines += _table(
      ["shape", "pass", "impl", "ms", "GB/s", "of peak", "compile s"],
      [
        (
          r["shape"],
          r["what"],
          r["impl"],
          _num(r["ms"], 3),
          _num(r["gbs"], 0),
          "" if r.get("share") is None else f"{r['share']:.0%}",
          _num(r["compile_s"], 1),
        )
        for r in iac
      ],
    )
  inference = _of(records, "time", "inference") + _of(records, "time", "official_inference")
  if inference:
    lines += ["", "## Inference (one image, result on the host)", ""]
    lines += _table(
      ["size", "who", "dtype", "impl", "ms", "ms on device", "TFLOP/s", "memory GiB", "compile s"],
      [
        (
          r["size"],
          "official" if r["part"].startswith("official") else "ifan_jax",
          r.get("dtype", r.get("mode")),
          r.get("impl", "torch"),
          _num(r.get("ms_host", r["ms"])),
          _num(r["ms"]) if "ms_host" in r else "",
          _num(r.get("tflops")),
          _num(r.get("planned_gib", r.get("peak_gib"))),
          _num(r.get("compile_s"), 1),
        )
        for r in inference
      ],
    )
  steps = [r for r in _of(records, "time") if "steps_per_s" in r]
  if steps:
    lines += ["", "## Training step (network + reblurring network + optimiser)", ""]
    lines += [
      "Memory: XLA's plan of our step, and each process's peak (ours includes what compilation took;",
      "the official code's is the CUDA allocator's peak over the timed steps).",
      "",
    ]
    header = ["who", "dtype", "IAC", "batch", "steps/s", "ms/step", "planned GiB", "peak GiB", "first step s"]
    rows = [
      (
        r["who"],
        r["dtype"],
        r.get("impl", "torch"),
        f"{r['batch']}x{r['crop']}x{r['crop']}",
        _num(r["steps_per_s"]),
        _num(r["ms"], 1),
        _num(r.get("planned_gib")),
        _num(r["peak_gib"]),
        _num(r["first_step_s"], 1),
      )
      for r in steps
    ]
    lines += _table(header, rows)
  for r in _of(records, "profile"):
    lines += ["", f"## Where the time goes: {r['name']} ({r['line']}, {r['total_ms']:.2f} ms per run)", ""]
    lines += _table(["kind of op", "ms per run"], [(kind, _num(ms, 3)) for kind, ms in r["kinds"]])
    lines += [""] + _table(["op", "ms per run", "calls per run"], [(name, _num(ms, 3), n) for name, ms, n in r["top"]])
  met = goals(records)
  if met:
    lines += ["", "## Goals", ""]
    lines += _table(["goal", "measured", "met"], [(g, m, "yes" if ok else "**no**") for g, m, ok in met])
  others = [r for r in records if r["kind"] in ("skipped", "error", "lowered", "part")]
  if others:
    lines += ["", "## Not measured, and time per part", ""]
    lines += [
      f"- {r['kind']}: {r['name']}: " + ", ".join(f"{k} {v}" for k, v in r.items() if k not in ("part", "kind", "name"))
      for r in others
    ]
  return "\n".join(lines) + "\n"


def write(out):
  """Rewrites gpu_suite.json and gpu_suite.md from the records so far; returns the Markdown."""
  records = read_records(out)
  summary = {"records": records, "goals": [dict(goal=g, measured=m, met=ok) for g, m, ok in goals(records)]}
  (out / "gpu_suite.json").write_text(json.dumps(summary, indent=1) + "\n")
  text = markdown(records)
  (out / "gpu_suite.md").write_text(text)
  return text
