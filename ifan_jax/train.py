"""Trains IFAN: `python -m ifan_jax.train --config configs/synthetic.py --workdir /tmp/ifan`.

Override any config field with `--config.<field>=<value>` (a misspelt field is an
error). Re-running on the same workdir resumes from its latest checkpoint.
`--config.init_from=PATH` fine-tunes a model directory, an official .pytorch file or another
run's workdir: the model config then comes from it, except the `--config.model.*` given here.
Multi-process runs pass --coordinator_address, --num_processes and --process_id, or
are detected on SLURM and Cloud TPU; see docs/training.md.
"""

from absl import app, flags
from ml_collections import config_flags

from ifan_jax import commands, configs
from ifan_jax.saved_models.run_dir import CheckpointError
from ifan_jax.training import distributed, loop


def define_flags():
  """Defines the command's flags on `flags.FLAGS`: only when run, so importing it clashes with no program."""
  shipped = "a path, or configs/NAME.py for one shipped in ifan_jax/configs/"
  config_flags.DEFINE_config_file("config", None, f"Training config file: {shipped}.", lock_config=True)
  configs.resolve_paths_of(flags.FLAGS["config"])
  flags.DEFINE_string("workdir", None, "Directory for checkpoints, logs and final metrics.")
  flags.DEFINE_string("coordinator_address", None, "host:port of process 0 in a multi-process run.")
  flags.DEFINE_integer("num_processes", None, "Processes in a multi-process run.")
  flags.DEFINE_integer("process_id", None, "This process's index in a multi-process run.")
  flags.mark_flags_as_required(["config", "workdir"])


def main(argv, datasets=None):
  """Joins the processes of a multi-process run if there are any, then trains (see loop.py).

  `datasets` replaces `ifan_jax.data.pipeline` (tests pass a fake one).
  """
  if len(argv) > 1:
    raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
  # Before anything touches a device: joining a multi-process run must come first.
  options = flags.FLAGS
  distributed.initialize(options.coordinator_address, options.num_processes, options.process_id)
  overrides = config_flags.get_override_values(options["config"])
  loop.train_and_evaluate(options.config, options.workdir, datasets=datasets, overrides=tuple(overrides))


def run(main_function=main):
  """Runs `main_function` (`main`, or a test's with fake data) as the command: one line per user error.

  A save that failed (CheckpointError) and a loss that is not finite (FloatingPointError) are named and
  explained like a bad config: the fix is the user's.
  """
  commands.run(main_function, "ifan_jax.train", errors=(CheckpointError, FloatingPointError))


if __name__ == "__main__":
  define_flags()
  run()
