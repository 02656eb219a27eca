"""Stands in for `gcloud` in the launch script tests: appends its arguments to
$FAKE_GCLOUD_LOG (one JSON list a line). `compute tpus tpu-vm describe` succeeds only when
FAKE_GCLOUD_EXISTS=1, as for a TPU VM that exists."""

import json
import os
import sys


def main(argv):
  with open(os.environ["FAKE_GCLOUD_LOG"], "a") as log:
    log.write(json.dumps(argv) + "\n")
  if argv[:4] == ["compute", "tpus", "tpu-vm", "describe"]:
    sys.exit(0 if os.environ.get("FAKE_GCLOUD_EXISTS") == "1" else 1)


if __name__ == "__main__":
  main(sys.argv[1:])
