"""`python -m ifan_jax.serve` refuses what it cannot serve before it listens, naming the flag or the file."""

import pytest

from tests.conftest import run_command


@pytest.mark.parametrize(
  "args, message",
  [
    (["--checkpoint", "nothing"], "ifan_jax.serve: No checkpoint at {tmp}/nothing."),
    (["--checkpoint", "{model}", "--tile", "30"], "multiples of 8"),
    (["--checkpoint", "{model}", "extra"], "Unexpected arguments ['extra']: the server takes flags only."),
  ],
)
def test_bad_flags_are_named_before_the_server_starts(tiny_model_dir, tmp_path, args, message):
  args = [arg.format(model=tiny_model_dir) for arg in args]
  proc = run_command("ifan_jax.serve", [*args, "--port", "1"], cwd=tmp_path, timeout=120)
  assert proc.returncode != 0 and message.format(tmp=tmp_path) in proc.stderr, proc.stderr[-3000:]
  assert "Traceback" not in proc.stderr


@pytest.mark.parametrize(
  "flag, value, message",
  [
    ("max_upload_mb", "0", "--max_upload_mb must be a number of at least 0.001 (1 KB), got 0.0."),
    ("max_upload_mb", "1e-9", "--max_upload_mb must be a number of at least 0.001 (1 KB), got 1e-09."),
    ("max_upload_mb", "inf", "--max_upload_mb must be a number of at least 0.001 (1 KB), got inf."),
    ("max_upload_mb", "nan", "--max_upload_mb must be a number of at least 0.001 (1 KB), got nan."),
    ("request_timeout", "0", "--request_timeout must be a positive number of seconds, got 0.0."),
    ("read_timeout", "nan", "--read_timeout must be a positive number of seconds, got nan."),
    ("max_pixels", "0", "--max_pixels must be at least 1, got 0."),
    ("compiled_shapes", "0", "--compiled_shapes must be at least 1, got 0."),
  ],
)
def test_a_bad_limit_is_one_line_before_the_model_loads(tmp_path, flag, value, message):
  """The checkpoint does not exist: the flag is named first, so the model was never loaded."""
  proc = run_command("ifan_jax.serve", ["--checkpoint", "missing", f"--{flag}={value}"], cwd=tmp_path, timeout=120)
  assert proc.returncode == 1
  assert proc.stderr.strip() == f"ifan_jax.serve: {message}", proc.stderr[-3000:]
