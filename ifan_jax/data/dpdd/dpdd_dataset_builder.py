"""TFDS builder of DPDD: blurred image, its two dual-pixel views and the all-in-focus ground truth."""

from ifan_jax.data import folder_builder

# Shared with PixelDP, released with the same paper.
HOMEPAGE = "https://github.com/Abdullah-Abuolaim/defocus-deblurring-dual-pixel"
CITATION = """@inproceedings{abuolaim2020defocus,
  title={Defocus Deblurring Using Dual-Pixel Data},
  author={Abuolaim, Abdullah and Brown, Michael S.},
  booktitle={European Conference on Computer Vision (ECCV)},
  year={2020}}"""


SPLIT_SIZES = {"train": 350, "validation": 74, "test": 76}


def _split(prefix: str) -> dict[str, str]:
  return {
    "blurred": f"{prefix}_c/source",
    "left": f"{prefix}_l/source",
    "right": f"{prefix}_r/source",
    "sharp": f"{prefix}_c/target",
  }


class Builder(folder_builder.FolderBuilder):
  """DPDD: train / validation / test scenes (`SPLIT_SIZES`) of 1680x1120 images, 8- or 16-bit."""

  BUILDER_CONFIGS = [
    folder_builder.EIGHT_BIT,
    folder_builder.BitDepthConfig(name="16bit", description="16-bit PNG files.", bits=16),
  ]
  ROOT = "DPDD"
  SPLIT_FOLDERS = {"train": _split("train"), "validation": _split("val"), "test": _split("test")}
  SPLIT_SIZES = SPLIT_SIZES
  HOMEPAGE = HOMEPAGE
  CITATION = CITATION
  MANUAL_DOWNLOAD_INSTRUCTIONS = f"""\
8bit config: download DPDD.zip as repackaged by IFAN (links in the README of
https://github.com/codeslake/IFAN, "Datasets") and unzip it into the manual dir.
16bit config: the same layout filled with the 16-bit PNG release of DPDD (from the DPDD
homepage, https://github.com/Abdullah-Abuolaim/defocus-deblurring-dual-pixel).
Expected layout (files of a scene share a name; extra folders such as *_l/target are ignored):

  <manual_dir>/DPDD/
    train_c/source/*.png   blurred (the combined dual-pixel image), {SPLIT_SIZES["train"]} files
    train_c/target/*.png   all-in-focus ground truth
    train_l/source/*.png   left dual-pixel view
    train_r/source/*.png   right dual-pixel view
    val_c/..., val_l/..., val_r/...     the same, {SPLIT_SIZES["validation"]} scenes (the validation split)
    test_c/..., test_l/..., test_r/...  the same, {SPLIT_SIZES["test"]} scenes

Then: python -m ifan_jax.data.build dpdd --manual_dir <manual_dir> [--config 16bit]
"""
