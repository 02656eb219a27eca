"""Every shipped config loads through the CLI's flag machinery, `--config configs/NAME.py` finds it from
any directory, and a misspelt field is an error."""

import pathlib
import subprocess
import sys
from unittest import mock

import pytest
from absl import flags
from ml_collections import config_flags

from ifan_jax import configs
from ifan_jax.models import IFANConfig
from tests.conftest import run_command

ROOT = pathlib.Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "ifan_jax" / "configs"
CONFIGS = sorted(p.stem for p in SHIPPED.glob("*.py") if p.name != "__init__.py")


def _parse(*args):
  """Parses `args` as `python -m ifan_jax.train` would (a fresh flag set each call).

  config_flags reads `--config.<field>` overrides from sys.argv itself.
  """
  flag_values = flags.FlagValues()
  holder = config_flags.DEFINE_config_file("config", None, "", flag_values=flag_values, lock_config=True)
  configs.resolve_paths_of(flag_values["config"])
  argv = ["train", *args]
  with mock.patch.object(sys, "argv", argv):
    flag_values(argv)
  return holder.value


def test_all_configs_are_shipped():
  assert CONFIGS == ["dpdd", "dpdd_16bit", "dpdd_dual", "pairs", "synthetic"] == list(configs.shipped())


@pytest.mark.parametrize("name", CONFIGS)
def test_config_loads_and_describes_a_valid_model(name):
  config = _parse(f"--config={SHIPPED / (name + '.py')}")
  IFANConfig.from_dict(config.model.to_dict())
  assert config.crop_size % 8 == 0 and config.total_steps > 0
  assert f"--config configs/{name}.py" in (SHIPPED / f"{name}.py").read_text()


def test_reference_variants():
  dual = _parse(f"--config={SHIPPED / 'dpdd_dual.py'}")
  sixteen = _parse(f"--config={SHIPPED / 'dpdd_16bit.py'}")
  assert dual.model.dual_pixel and dual.dataset == "dpdd"
  assert sixteen.model.in_bit == 16 and sixteen.dataset == "dpdd/16bit"
  own = _parse(f"--config={SHIPPED / 'pairs.py'}", "--config.dataset=pairs/mine@0.5,dpdd@0.5")
  assert own.dataset == "pairs/mine@0.5,dpdd@0.5" and not own.use_disparity_loss and own.use_reblur_loss


@pytest.mark.parametrize("name", CONFIGS)
def test_the_smoke_variant_is_the_same_run_shrunk_to_20_steps(name):
  full = _parse("--config", f"configs/{name}.py")
  smoke = _parse("--config", f"configs/{name}.py:smoke")
  assert (smoke.total_steps, smoke.crop_size, smoke.eval_limit) == (20, 64, 2)
  assert (smoke.eval_every_steps, smoke.checkpoint_every_steps) == (10, 10)
  shrunk = {"total_steps", "crop_size", "eval_limit", "eval_every_steps", "checkpoint_every_steps"}
  shrunk |= {"log_every_steps", "num_image_summaries"}
  assert {k: v for k, v in smoke.items() if k not in shrunk} == {k: v for k, v in full.items() if k not in shrunk}


@pytest.mark.parametrize("variant", ["tiny", "Smoke"])
def test_an_unknown_variant_is_one_line_naming_it(variant, tmp_path):
  proc = run_command("ifan_jax.train", ["--config", f"configs/dpdd.py:{variant}", "--workdir", "run"], cwd=tmp_path)
  assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr[-3000:]
  assert f"configs/dpdd.py:{variant}: no variant '{variant}'; a shipped config takes :smoke or none." in proc.stderr
  assert not (tmp_path / "run").exists()


def test_overrides_apply_and_a_misspelt_field_is_an_error():
  path = SHIPPED / "synthetic.py"
  config = _parse(f"--config={path}", "--config.total_steps=7", "--config.model.channels=4", "--config.data_dir=/data")
  assert (config.total_steps, config.model.channels, config.data_dir) == (7, 4, "/data")
  with pytest.raises(AttributeError, match="Did you mean .total_steps. instead of .totl_steps."):
    _parse(f"--config={path}", "--config.totl_steps=7")
  with pytest.raises(AttributeError, match="Did you mean .channels. instead of .chanels."):
    _parse(f"--config={path}", "--config.model.chanels=4")


def test_configs_load_from_any_working_directory_without_path_tricks(tmp_path):
  script = (
    "import sys\nimport importlib.util as u\n"
    "for path in sys.argv[1:]:\n"
    "  spec = u.spec_from_file_location('c', path); m = u.module_from_spec(spec); spec.loader.exec_module(m)\n"
    "  print(m.get_config().dataset)"
  )
  paths = [str(SHIPPED / f"{name}.py") for name in CONFIGS]
  done = subprocess.run(
    [sys.executable, "-c", script, *paths], cwd=tmp_path, capture_output=True, text=True, check=False
  )
  assert done.returncode == 0, done.stderr
  assert done.stdout.split() == ["dpdd", "dpdd/16bit", "dpdd", "pairs/my_photos", "synthetic_dp"]
  for path in paths:
    assert "sys.path" not in pathlib.Path(path).read_text()


def test_configs_slash_name_is_the_shipped_file_from_any_directory_unless_a_file_is_there(tmp_path, monkeypatch):
  monkeypatch.chdir(tmp_path)
  assert configs.resolve("configs/pairs.py") == str(SHIPPED / "pairs.py")
  assert configs.resolve("ifan_jax/configs/dpdd.py:arg") == f"{SHIPPED / 'dpdd.py'}:arg"
  assert _parse("--config", "configs/synthetic.py", "--config.total_steps=3").total_steps == 3
  # A file of one's own at that path, and any path that exists, is read as given.
  (tmp_path / "configs").mkdir()
  (tmp_path / "configs" / "synthetic.py").write_text(
    "from ifan_jax.training.default_config import default_config\n\n\ndef get_config():\n"
    "  config = default_config()\n  config.total_steps = 11\n  return config\n"
  )
  assert configs.resolve("configs/synthetic.py") == "configs/synthetic.py"
  assert _parse("--config", "configs/synthetic.py").total_steps == 11
  for missing in ("configs/nope.py", "configs/__init__.py", "elsewhere/dpdd.py", str(tmp_path / "dpdd.py")):
    with pytest.raises(FileNotFoundError, match=f"No config file {missing} .*configs/dpdd.py, configs/dpdd_16bit.py"):
      configs.resolve(missing)


@pytest.mark.parametrize("config", ["configs/nope.py", "nope/synthetic.py"])
def test_a_config_that_is_neither_a_file_nor_shipped_is_named(config, tmp_path):
  proc = run_command("ifan_jax.train", ["--config", config, "--workdir", "run"], cwd=tmp_path)
  assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr[-3000:]
  assert f"No config file {config} (looked from {tmp_path})" in proc.stderr
  assert "a config shipped with ifan_jax: configs/dpdd.py, configs/dpdd_16bit.py" in proc.stderr
  assert not (tmp_path / "run").exists()
