"""Training IFAN: optimiser, the pmapped step, checkpoints, validation and the loop (`python -m ifan_jax.train`)."""
