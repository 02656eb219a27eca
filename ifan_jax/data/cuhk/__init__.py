"""CUHK blur detection images (Shi et al., CVPR 2014): defocused photos without ground truth."""
