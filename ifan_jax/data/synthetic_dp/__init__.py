"""A synthetic dual-pixel defocus dataset rendered from a thin-lens model: needs no download."""
