"""TFDS builder of RealDOF: 50 test pairs of a defocused image and its ground truth."""

from ifan_jax.data import folder_builder


class Builder(folder_builder.FolderBuilder):
  """RealDOF: test split only, blurred and sharp images."""

  ROOT = "RealDOF"
  SPLIT_FOLDERS = {"test": {"blurred": "source", "sharp": "target"}}
  SPLIT_SIZES = {"test": 50}
  HOMEPAGE = "https://github.com/codeslake/IFAN"
  CITATION = """@inproceedings{Lee2021IFAN,
  title={Iterative Filter Adaptive Network for Single Image Defocus Deblurring},
  author={Lee, Junyong and Son, Hyeongseok and Rim, Jaesung and Cho, Sunghyun and Lee, Seungyong},
  booktitle={IEEE Conference on Computer Vision and Pattern Recognition (CVPR)},
  year={2021}}"""
  MANUAL_DOWNLOAD_INSTRUCTIONS = """\
Download the RealDOF test set (links in the README of https://github.com/codeslake/IFAN,
"Datasets") and unzip it into the manual dir. Expected layout (files of a pair share a name):

  <manual_dir>/RealDOF/
    source/*.png   defocused images, 50 files
    target/*.png   all-in-focus ground truth

Then: python -m ifan_jax.data.build realdof --manual_dir <manual_dir>
"""
