"""Deblurring with a trained model: `Deblurrer` (the one inference path), tiling of large images, and files.

`python -m ifan_jax.deblur` and the server are built on it.
"""
