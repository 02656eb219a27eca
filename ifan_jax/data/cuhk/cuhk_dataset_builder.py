"""TFDS builder of the CUHK defocus images: blurred only, for qualitative evaluation."""

from ifan_jax.data import folder_builder


class Builder(folder_builder.FolderBuilder):
  """CUHK: test split only, blurred images (PNG or JPEG) and their names."""

  ROOT = "CUHK"
  SPLIT_FOLDERS = {"test": {"blurred": "."}}
  SPLIT_SIZES = {"test": None}
  HOMEPAGE = "https://www.cse.cuhk.edu.hk/leojia/projects/dblurdetect/"
  CITATION = """@inproceedings{shi2014discriminative,
  title={Discriminative Blur Detection Features},
  author={Shi, Jianping and Xu, Li and Jia, Jiaya},
  booktitle={IEEE Conference on Computer Vision and Pattern Recognition (CVPR)},
  year={2014}}"""
  MANUAL_DOWNLOAD_INSTRUCTIONS = """\
Download the CUHK test set (links in the README of https://github.com/codeslake/IFAN,
"Datasets") and unzip it into the manual dir. Expected layout:

  <manual_dir>/CUHK/*.png|*.jpg   defocused photos, no ground truth

Then: python -m ifan_jax.data.build cuhk --manual_dir <manual_dir>
"""
