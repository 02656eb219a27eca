"""DPDD (Abuolaim & Brown, ECCV 2020): dual-pixel defocus deblurring, in IFAN's folder layout."""
