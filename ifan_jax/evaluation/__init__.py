"""Evaluation with the paper's protocol: metrics, what is evaluated, the protocol itself and its figures.

`metrics` also scores validation during training; `python -m ifan_jax.eval` is the command.
"""
