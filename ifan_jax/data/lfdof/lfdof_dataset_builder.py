"""TFDS builder of LFDOF: every defocused image of a light-field scene paired with the scene's all-in-focus image."""

from ifan_jax.data import folder_builder

ROOT = "LFDOF"


def _split(folder: str) -> dict[str, str]:
  return {"blurred": f"{folder}/input", "sharp": f"{folder}/ground_truth"}


class Builder(folder_builder.FolderBuilder):
  """LFDOF: 11,989 train / 725 test defocused images; a scene's several images share its ground truth.

  The training set of DRBNet (Ruan et al., CVPR 2022) and later methods. An example is one defocused
  image and its scene's ground truth (stored with each of the scene's examples), named `<scene>/<stem>`.
  """

  ROOT = ROOT
  SPLIT_FOLDERS = {"train": _split("train_data"), "test": _split("test_data")}
  SPLIT_SIZES = {"train": 11_989, "test": 725}
  STACKED = "blurred"  # its folder holds one subfolder of images per scene
  HOMEPAGE = "https://sweb.cityu.edu.hk/miullam/AIFNET/"
  CITATION = """@article{ruan2021aifnet,
  title={AIFNet: All-in-Focus Image Restoration Network Using a Light Field-Based Dataset},
  author={Ruan, Lingyan and Chen, Bin and Li, Jizhou and Lam, Miu-Ling},
  journal={IEEE Transactions on Computational Imaging},
  volume={7}, pages={675--688}, year={2021}}"""
  MANUAL_DOWNLOAD_INSTRUCTIONS = """\
Download LFDOF from its project page, https://sweb.cityu.edu.hk/miullam/AIFNET/ (linked from the
READMEs of https://github.com/binorchen/AIFNET and https://github.com/lingyanruan/DRBNet), and unzip
it into the manual dir. Expected layout (a scene's folder and its ground truth share a name):

  <manual_dir>/LFDOF/
    train_data/input/<scene>/*.png     defocused images of the scene, 11,989 in all
    train_data/ground_truth/<scene>.png  the scene's all-in-focus image
    test_data/input/<scene>/*.png      the same, 725 defocused images
    test_data/ground_truth/<scene>.png

Then: python -m ifan_jax.data.build lfdof --manual_dir <manual_dir>
(LFDOF has no validation split: validate on another dataset, e.g. --config.eval_dataset=dpdd.)
"""
