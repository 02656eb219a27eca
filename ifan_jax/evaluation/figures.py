"""Side-by-side figures of evaluation results: blurred | ours | sharp | error map | disparity."""

import numpy as np
from matplotlib.figure import Figure  # No pyplot: no global state, no display needed.

PANEL_INCHES = 3.2
# Disparity maps (here and on the server's page) use a colour range symmetric about zero: white is
# zero disparity, in focus.
DISPARITY_CMAP = "coolwarm"


def disparity_extent(disparity) -> float:
  """Half the width of the colour range of a disparity map: its largest magnitude."""
  return max(float(np.abs(disparity).max()), 1e-6)


def save_comparison(path, blurred, result, *, sharp=None, disparity=None, title=None):
  """Writes a PNG figure. Images are `[H, W, 3]` in [0, 1]; `disparity` is the `[H/8, W/8]` map.

  The error map is |result - sharp| averaged over channels; error and disparity get colour bars.
  """
  panels = [("blurred", blurred, {}), ("ours", result, {})]
  if sharp is not None:
    panels += [
      ("sharp", sharp, {}),
      ("|ours - sharp|", np.abs(result - sharp).mean(axis=-1), {"cmap": "inferno", "vmin": 0}),
    ]
  if disparity is not None:
    extent = disparity_extent(disparity)
    panels.append(("estimated disparity", disparity, {"cmap": DISPARITY_CMAP, "vmin": -extent, "vmax": extent}))
  height, width = blurred.shape[:2]
  figure = Figure(figsize=(PANEL_INCHES * len(panels), PANEL_INCHES * height / width + 0.6), layout="constrained")
  for axes, (label, image, style) in zip(figure.subplots(1, len(panels), squeeze=False)[0], panels):
    shown = axes.imshow(
      np.clip(image, 0, 1) if image.ndim == 3 else image, interpolation="nearest", extent=(0, width, height, 0), **style
    )
    if style:
      figure.colorbar(shown, ax=axes, shrink=0.8)
    axes.set_title(label, fontsize=9)
    axes.set_axis_off()
  if title:
    figure.suptitle(title, fontsize=10)
  figure.savefig(path, dpi=120)
