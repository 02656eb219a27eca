"""PixelDP (Abuolaim & Brown, ECCV 2020): dual-pixel views from a Google Pixel phone, no ground truth."""
