"""Files, paths and locks, with no knowledge of models: what `data/` and the commands stand on.

`images` is the one image reader and writer, `paths` makes a local path absolute once, `locks`
keeps a second process out of a workdir or a dataset being built, `strict_json` writes metrics
that strict JSON parsers read.
"""
