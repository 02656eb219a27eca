"""Datasets of ifan_jax: TFDS builders (registered on import), their registry and the input pipeline."""

from ifan_jax.data import registry

registry.register_builders()
