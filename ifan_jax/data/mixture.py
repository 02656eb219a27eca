"""A training dataset that is several datasets mixed with weights: `"lfdof@0.7,dpdd@0.3"`.

Members are separated by `,` and a member's weight follows `@` (a member without one weighs 1;
weights need not sum to 1). Neither character can occur in a TFDS name, whose own separators
(`/` for the config, `:` for the version, as in `dpdd/16bit:1.0.0`) therefore stay usable in a
member. A name without `,` or `@` is one dataset, as it always was. This module is the only
place that reads the syntax.
"""

import dataclasses
import math

MEMBER_SEPARATOR = ","
WEIGHT_SEPARATOR = "@"


@dataclasses.dataclass(frozen=True)
class Member:
  """One dataset of a mixture ("name" or "name/config") and its weight (positive)."""

  dataset: str
  weight: float = 1.0


def parse(spec: str) -> tuple[Member, ...]:
  """The members of `spec`; a ValueError names the part that is not `name[@weight]`."""
  members = []
  for part in spec.split(MEMBER_SEPARATOR):
    name, at, weight = part.strip().partition(WEIGHT_SEPARATOR)
    try:
      value = float(weight) if at else 1.0
    except ValueError:
      value = math.nan
    if not name or not math.isfinite(value) or value <= 0:
      raise ValueError(
        f"dataset {spec!r}: {part!r} is not NAME or NAME{WEIGHT_SEPARATOR}WEIGHT with a positive weight; "
        f"a mixture reads like 'lfdof{WEIGHT_SEPARATOR}0.7{MEMBER_SEPARATOR}dpdd{WEIGHT_SEPARATOR}0.3'."
      )
    members.append(Member(name, value))
  names = [m.dataset for m in members]
  repeated = sorted({n for n in names if names.count(n) > 1})
  if repeated:
    raise ValueError(f"dataset {spec!r} names {', '.join(repeated)} more than once: give each member once.")
  return tuple(members)


def first(spec: str) -> str:
  """The first member's dataset: where a mixture is validated unless the config names another."""
  return parse(spec)[0].dataset
