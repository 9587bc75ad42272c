"""Unit types and force options: how many officers it takes to hold a post around the clock.

A protection post is staffed 24 hours a day, 7 days a week. One officer works about 1,700 hours a
year, a post needs 8,760, so a continuously staffed position takes about 5.2 officers (the relief
factor; see ``/work/shared/reference/force-planning-anchors.md`` section 3, Local Government
Performance Center 2012, "Calculating Staffing Needs Using the Relief Factor Method":
8,760 h / 1,698 available h = 5.2). Every count in this module applies that multiplier.

Three unit types, after the UN's own categories (United Nations Police, "Formed Police Units";
DPKO/DFS Policy on FPUs, Ref. 2009.32):

- ``monitors``: unarmed monitors who observe and report; they work in pairs, so a post has 2 on
  duty and takes 2 x 5.2 = 10.4 monitors; they deploy in pairs. What they reach is *observed*.
- ``police``: armed individual police officers; two-officer minimum on duty per post (paired
  patrol, anchors section 3: "paired patrols need about 10-11 per post"); they deploy one by one.
  What they reach is *protected*.
- ``fpu``: a formed police unit of 140 armed officers that deploys whole. We staff a post with one
  section of 10 on duty (an assumption: the FPU policy organises the unit in platoons of sections;
  the anchors give an example unit of 100 tactical + 40 support officers). 10 x 5.2 = 52 officers
  per post, so one FPU holds 2 posts (104 officers) and keeps 36 for command and support, close to
  the 40 support officers of the example. What FPUs reach is *protected*.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from kalkan.errors import OptionError
from kalkan.plan.defaults import SHIFT_MULTIPLIER_24_7

#: Officers needed per continuously (24/7) staffed position: 8,760 h / 1,698 h (relief factor).

_RELIEF_SOURCE = (
    "Relief factor 8,760 h / 1,698 h = 5.2 officers per 24/7 position: Local Government "
    "Performance Center, 'Calculating Staffing Needs Using the Relief Factor Method', 2012 "
    "(force-planning-anchors.md section 3)"
)


@dataclass(frozen=True)
class UnitType:
    """A kind of unit a contributor can send.

    Attributes
    ----------
    name : str
        Key in :data:`UNIT_TYPES` (``monitors``, ``police``, ``fpu``).
    armed : bool
        Armed units *protect* what they reach; unarmed units only *observe* it.
    officers_per_post : int
        Officers on duty at one post at any moment.
    shift_multiplier : float
        Officers needed per continuously staffed position (about 5.2 for 24/7).
    deploy_size : int
        Officers that deploy together (1 police officer, 2 a monitor pair, 140 a formed police unit).
    source : str
        Where the numbers come from.
    """

    name: str
    armed: bool
    officers_per_post: int
    shift_multiplier: float
    deploy_size: int
    source: str

    @property
    def coverage_kind(self) -> str:
        """``"protected"`` for armed units, ``"observed"`` for unarmed ones."""
        return "protected" if self.armed else "observed"


UNIT_TYPES: dict[str, UnitType] = {
    "monitors": UnitType(
        name="monitors",
        armed=False,
        officers_per_post=2,
        shift_multiplier=SHIFT_MULTIPLIER_24_7,
        deploy_size=2,
        source=("Unarmed monitors work in pairs (two on duty per post). " + _RELIEF_SOURCE + "."),
    ),
    "police": UnitType(
        name="police",
        armed=True,
        officers_per_post=2,
        shift_multiplier=SHIFT_MULTIPLIER_24_7,
        deploy_size=1,
        source=(
            "Individual police officers (IPOs) deploy one by one; two-officer minimum per armed post "
            "(paired patrols need about 10-11 officers per 24/7 post, anchors section 3). "
            + _RELIEF_SOURCE
            + "."
        ),
    ),
    "fpu": UnitType(
        name="fpu",
        armed=True,
        officers_per_post=10,
        shift_multiplier=SHIFT_MULTIPLIER_24_7,
        deploy_size=140,
        source=(
            "Formed police unit of 140 officers deploying whole (United Nations Police, 'Formed Police "
            "Units'; DPKO/DFS FPU policy 2009.32). One section of 10 on duty per post is an assumption "
            "(example unit: 100 tactical + 40 support). " + _RELIEF_SOURCE + "."
        ),
    ),
}

_EPS = 1e-9


def unit_type(unit: str | UnitType) -> UnitType:
    """Return the :class:`UnitType` for a name (or the type itself); raise OptionError if unknown."""
    if isinstance(unit, UnitType):
        return unit
    try:
        return UNIT_TYPES[unit]
    except KeyError:
        raise OptionError(
            f"Unknown unit type {unit!r}: use one of {', '.join(sorted(UNIT_TYPES))}."
        ) from None


@dataclass(frozen=True)
class ForceOption:
    """A force option: ``officers`` of one unit type (e.g. 600 police)."""

    unit: str
    officers: int

    def __post_init__(self) -> None:
        unit_type(self.unit)
        if isinstance(self.officers, bool) or not isinstance(self.officers, int) or self.officers <= 0:
            raise OptionError(
                f"A force option needs a whole number of officers > 0; got {self.officers!r} "
                f"for {self.unit!r}: write it like 'police:600'."
            )

    @property
    def label(self) -> str:
        """The option as written on the command line, e.g. ``"police:600"``."""
        return f"{self.unit}:{self.officers}"

    @property
    def unit_type(self) -> UnitType:
        """The :class:`UnitType` of this option."""
        return UNIT_TYPES[self.unit]


_OPTION = re.compile(r"^\s*([A-Za-z_]+)\s*:\s*([+-]?\d+)\s*$")


def parse_options(text: str) -> list[ForceOption]:
    """Parse ``"monitors:50,police:600"`` into force options.

    Raises
    ------
    OptionError
        For a malformed item (``"abc"``), a count that is not a positive whole number (``"police:-5"``)
        or an unknown unit type (``"tanks:5"``); the message names the item and the fix.
    """
    items = [item for item in str(text).split(",") if item.strip()]
    if not items:
        raise OptionError("No force options given: write them like 'monitors:50,police:600'.")
    options: list[ForceOption] = []
    for item in items:
        match = _OPTION.match(item)
        if match is None:
            raise OptionError(
                f"Cannot read force option {item.strip()!r}: write UNIT:OFFICERS, e.g. "
                f"'police:600', with UNIT one of {', '.join(sorted(UNIT_TYPES))}."
            )
        unit, count = match.group(1).lower(), int(match.group(2))
        if unit not in UNIT_TYPES:
            raise OptionError(
                f"Unknown unit type {match.group(1)!r} in {item.strip()!r}: use one of "
                f"{', '.join(sorted(UNIT_TYPES))}."
            )
        if count <= 0:
            raise OptionError(
                f"Force option {item.strip()!r} has {count} officers: the count must be a whole number > 0."
            )
        options.append(ForceOption(unit, count))
    return options


def officers_per_post(unit: str | UnitType) -> float:
    """Officers it takes to staff one post of ``unit`` 24/7 (on duty x shift multiplier)."""
    kind = unit_type(unit)
    return kind.officers_per_post * kind.shift_multiplier


def posts_per_deployment(unit: str | UnitType) -> int:
    """Posts one deployable group holds on its own (FPU: 2); 0 when it must pool with others."""
    kind = unit_type(unit)
    return math.floor(kind.deploy_size / officers_per_post(kind) + _EPS)


def posts_for(option: ForceOption) -> int:
    """Number of 24/7 posts ``option`` can hold.

    Officers count only in whole deployable groups (monitor pairs, whole FPUs). Groups larger than a
    post (FPUs) hold their own posts and do not pool leftovers with other groups; smaller groups
    (pairs, individual officers) pool into posts.
    """
    kind = unit_type(option.unit)
    groups = option.officers // kind.deploy_size
    per_group = posts_per_deployment(kind)
    if per_group >= 1:
        return groups * per_group
    return math.floor(groups * kind.deploy_size / officers_per_post(kind) + _EPS)


def officers_for_posts(unit: str | UnitType, posts: int) -> int:
    """Smallest number of officers of ``unit`` (whole deployable groups) that holds ``posts`` posts."""
    kind = unit_type(unit)
    if posts <= 0:
        return 0
    per_group = posts_per_deployment(kind)
    if per_group >= 1:
        return math.ceil(posts / per_group) * kind.deploy_size
    officers = math.ceil(posts * officers_per_post(kind) - _EPS)
    return math.ceil(officers / kind.deploy_size) * kind.deploy_size
