"""TFDS builder of PixelDP: combined image and both dual-pixel views, without ground truth."""

from ifan_jax.data import folder_builder
from ifan_jax.data.dpdd import dpdd_dataset_builder


class Builder(folder_builder.FolderBuilder):
  """PixelDP: test split only; blurred (combined), left and right views.

  Stored as the files are. IFAN's evaluation rotates these images 90 degrees counter-clockwise
  before the network and back afterwards.
  """

  ROOT = "PixelDP"
  SPLIT_FOLDERS = {"test": {"blurred": "test_c/source", "left": "test_l/source", "right": "test_r/source"}}
  SPLIT_SIZES = {"test": None}
  HOMEPAGE = dpdd_dataset_builder.HOMEPAGE
  CITATION = dpdd_dataset_builder.CITATION
  MANUAL_DOWNLOAD_INSTRUCTIONS = """\
Download the PixelDP test set (links in the README of https://github.com/codeslake/IFAN,
"Datasets") and unzip it into the manual dir. Expected layout (files of a scene share a name):

  <manual_dir>/PixelDP/
    test_c/source/*.png   combined image
    test_l/source/*.png   left dual-pixel view
    test_r/source/*.png   right dual-pixel view

Then: python -m ifan_jax.data.build pixeldp --manual_dir <manual_dir>
"""
