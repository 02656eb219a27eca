"""RealDOF (Lee et al., CVPR 2021): real defocused images with all-in-focus ground truth."""
