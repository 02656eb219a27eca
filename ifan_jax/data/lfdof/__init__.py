"""LFDOF (Ruan et al., IEEE TCI 2021): defocused images made from light fields, with all-in-focus ground truth."""
