"""`python -m ifan_jax.serve` refuses what it cannot serve before it listens, naming the flag or the file."""

import pytest

from tests.conftest import run_command


@pytest.mark.parametrize(
  "args, message",
  [
    (["--checkpoint", "nothing"], "ifan_jax.serve: No checkpoint at {tmp}/nothing."),
    (["--checkpoint", "{model}", "--tile", "30"], "multiples of 8"),
    (["--checkpoint", "{model}", "--max_upload_mb", "0"], "--max_upload_mb must be positive, got 0.0."),
    (["--checkpoint", "{model}", "extra"], "Unexpected arguments ['extra']: the server takes flags only."),
  ],
)
def test_bad_flags_are_named_before_the_server_starts(tiny_model_dir, tmp_path, args, message):
  args = [arg.format(model=tiny_model_dir) for arg in args]
  proc = run_command("ifan_jax.serve", [*args, "--port", "1"], cwd=tmp_path, timeout=120)
  assert proc.returncode != 0 and message.format(tmp=tmp_path) in proc.stderr, proc.stderr[-3000:]
