"""Datasets of ifan_jax: TFDS builders (registered on import) and the input pipeline."""

from ifan_jax.data.cuhk import cuhk_dataset_builder
from ifan_jax.data.dpdd import dpdd_dataset_builder
from ifan_jax.data.pixeldp import pixeldp_dataset_builder
from ifan_jax.data.realdof import realdof_dataset_builder
from ifan_jax.data.synthetic_dp import synthetic_dp_dataset_builder

DATASETS = ("dpdd", "realdof", "cuhk", "pixeldp", "synthetic_dp")

__all__ = ["DATASETS", "cuhk_dataset_builder", "dpdd_dataset_builder", "pixeldp_dataset_builder",
           "realdof_dataset_builder", "synthetic_dp_dataset_builder"]
