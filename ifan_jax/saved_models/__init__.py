"""Trained models on disk: our model directories, official `.pytorch` files and training workdirs.

`model_dir` writes and reads our format, `torch_weights` converts the official one, `run_dir` is a
training workdir's layout and its newest readable save, and `any_model` loads whichever a path names.
"""
