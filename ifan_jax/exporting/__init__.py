"""Deblurring models that run without ifan_jax: a `jax.export` artifact, or an ONNX file.

`forward` defines the exported function (its inputs, outputs and symbolic shape) once for both
formats; `jax_format` and `onnx_format` write it. `python -m ifan_jax.export` is the command.
"""
