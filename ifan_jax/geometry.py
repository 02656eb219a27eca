"""The one size fact that images, datasets and the network share, in a module that imports nothing.

IFAN works at 1/8 of the input's resolution inside (three stride-2 stages), so every image it reads
has a height and width that are multiples of `SIZE_MULTIPLE`: evaluation crops to them, as the
reference does, inference pads to them, and datasets render them.
"""

SIZE_MULTIPLE = 8
