"""Every dataset ifan_jax knows, and what the rest of the project needs to know about each.

Adding a dataset is a builder folder `ifan_jax/data/<name>/` (a TFDS builder class named
`Builder`, see docs/datasets.md) plus one `Entry` below. The splits and features a dataset has
are its builder's own (TFDS records them in the built dataset's info); an entry adds only what
the builder does not know: whether it is rendered rather than downloaded, whether its configs
are names of the user's own datasets (`pairs/NAME`), how the paper's evaluation treats it, and
the paper's scores on it (the model's and the blurred input's).
"""

import dataclasses
import importlib
from collections.abc import Mapping


@dataclasses.dataclass(frozen=True)
class Entry:
  """One dataset: its TFDS name and builder module, and its place in the protocol."""

  name: str
  module: str  # imported on demand; TFDS registers the builder then
  generated: bool = False  # rendered on first use (no download); else built from its manual download
  rotate_for_eval: bool = False  # the reference turns its images 90 degrees counter-clockwise before the network
  paper: Mapping[str, float] | None = None  # IFAN's (N=17) scores on the test split, in the paper's precision
  paper_input: Mapping[str, float] | None = None  # the blurred input's scores there (the paper's "Input" row)
  # Configs are names of the user's choosing (`pairs/NAME`): each is a dataset of its own, whose
  # layout (splits, views, bit depth) its builder reads off the manual dir it is built from.
  user_named: bool = False

  def builder_class(self) -> type:
    return importlib.import_module(self.module).Builder


ENTRIES = (
  Entry(
    "dpdd",
    "ifan_jax.data.dpdd.dpdd_dataset_builder",
    paper=dict(psnr=25.37, ssim=0.789, mae=0.0394, lpips=0.217),
    paper_input=dict(psnr=23.89, ssim=0.725, mae=0.0471, lpips=0.349),
  ),
  Entry(
    "realdof",
    "ifan_jax.data.realdof.realdof_dataset_builder",
    paper=dict(psnr=24.71, ssim=0.748, mae=0.0407, lpips=0.306),
  ),
  Entry("lfdof", "ifan_jax.data.lfdof.lfdof_dataset_builder"),
  Entry("cuhk", "ifan_jax.data.cuhk.cuhk_dataset_builder"),
  Entry("pixeldp", "ifan_jax.data.pixeldp.pixeldp_dataset_builder", rotate_for_eval=True),
  Entry("synthetic_dp", "ifan_jax.data.synthetic_dp.synthetic_dp_dataset_builder", generated=True),
  Entry("pairs", "ifan_jax.data.pairs.pairs_dataset_builder", user_named=True),
)
NAMES = tuple(entry.name for entry in ENTRIES)


def entry(dataset: str) -> Entry:
  """The entry of `dataset` ("name" or "name/config"); a ValueError lists the known names."""
  name = dataset.split("/")[0].split(":")[0]
  for candidate in ENTRIES:
    if candidate.name == name:
      return candidate
  raise ValueError(
    f"unknown dataset {dataset!r}; expected one of {', '.join(NAMES)} (optionally with a config, e.g. 'dpdd/16bit')."
  )


def register_builders():
  """Imports every builder, which registers it with TFDS (`tfds.builder(name)` then finds it)."""
  for candidate in ENTRIES:
    importlib.import_module(candidate.module)
