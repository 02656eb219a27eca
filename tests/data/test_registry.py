"""The dataset registry: every entry's builder registers with TFDS under its name, and every command lists it."""

import pytest
import tensorflow_datasets as tfds

from ifan_jax.data import dummy_data, folder_builder, registry
from tests.conftest import run_command


@pytest.mark.parametrize("entry", registry.ENTRIES, ids=lambda e: e.name)
def test_each_entry_is_a_registered_tfds_builder_of_its_name(entry, tmp_path):
  # A user-named dataset (pairs/NAME) is only a builder once it has a name.
  builder = tfds.builder(f"{entry.name}/mine" if entry.user_named else entry.name, data_dir=str(tmp_path))
  assert isinstance(builder, entry.builder_class())
  assert builder.name == entry.name
  assert registry.entry(f"{entry.name}/some_config") is entry
  # Downloaded datasets say how to lay out their download; rendered ones need none.
  assert entry.generated or builder.MANUAL_DOWNLOAD_INSTRUCTIONS.strip()
  # Only the datasets the paper reports on carry its numbers, and a score for every metric.
  assert entry.paper is None or set(entry.paper) == {"psnr", "ssim", "mae", "lpips"}
  # The paper's Input row sits beside its model row, for the same metrics.
  assert entry.paper_input is None or (entry.paper and set(entry.paper_input) == set(entry.paper))


def test_every_folder_dataset_has_dummy_data_for_its_tests():
  folder_entries = {e.name for e in registry.ENTRIES if issubclass(e.builder_class(), folder_builder.FolderBuilder)}
  assert set(dummy_data.FOLDER_BUILDERS) == folder_entries


def test_an_unknown_name_lists_the_known_ones():
  with pytest.raises(ValueError, match=f"unknown dataset 'gopro/8bit'; expected one of {', '.join(registry.NAMES)}"):
    registry.entry("gopro/8bit")


@pytest.mark.parametrize("command", ["ifan_jax.data.build", "ifan_jax.eval"])
def test_the_commands_list_every_registered_dataset(command, tmp_path):
  done = run_command(command, ["--help"], cwd=tmp_path)
  for name in registry.NAMES:
    assert name in done.stdout, (command, name)
