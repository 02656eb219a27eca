"""What importing the library costs: seconds, and whether TFDS, training code or absl flags come along.

  python benchmarks/import_time.py [--repeats 5]

Each statement runs in a fresh interpreter `--repeats` times; the fastest run is printed (the others
measure the machine's load), with whether TensorFlow Datasets, scikit-image or `ifan_jax.training`
were imported and which absl flags ifan_jax modules defined.
"""

import json
import subprocess
import sys

from absl import app, flags

_REPEATS = flags.DEFINE_integer("repeats", 5, "Fresh interpreters per statement; the fastest is printed.")
STATEMENTS = (
  "import ifan_jax",
  "from ifan_jax import Deblurrer",
  "import ifan_jax.deblur",
  "import ifan_jax.eval",
  "import ifan_jax.train",
  "import ifan_jax.serve",
  "import ifan_jax.export",
)
_PROBE = """
import json, sys, time
start = time.perf_counter()
exec(sys.argv[1])
seconds = time.perf_counter() - start
from absl import flags
ours = sorted(n for n in flags.FLAGS if (flags.FLAGS.find_module_defining_flag(n) or "").startswith("ifan_jax"))
print(json.dumps({"seconds": seconds, "tensorflow_datasets": "tensorflow_datasets" in sys.modules,
                  "skimage": "skimage" in sys.modules,
                  "training": any(m.startswith("ifan_jax.training") for m in sys.modules), "flags": ours}))
"""


def measure(statement: str, repeats: int) -> dict:
  runs = []
  for _ in range(repeats):
    done = subprocess.run([sys.executable, "-c", _PROBE, statement], capture_output=True, text=True, check=True)
    runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
  return min(runs, key=lambda run: run["seconds"])


def main(argv):
  del argv
  print(f"{'statement':<34} {'seconds':>8}  imports TFDS / scikit-image / training; flags defined")
  for statement in STATEMENTS:
    run = measure(statement, _REPEATS.value)
    print(
      f"{statement:<34} {run['seconds']:8.2f}  {run['tensorflow_datasets']} / {run['skimage']} / "
      f"{run['training']}; {run['flags'] or 'none'}"
    )


if __name__ == "__main__":
  app.run(main)
