"""People at risk within reach of the posts, and the covered share: one definition for every caller.

The planner, the simulation and the brief all report "how many of the people at risk a force
reaches" and "what share of the weight that is"; they call :func:`reach_of` so the numbers cannot
drift apart. Reach means a post can get there within the response time: it is not capacity, not a
simulated outcome and not protection (those are other functions' words).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from kalkan.errors import SchemaError

__all__ = ["Reach", "reach_of", "weight_share"]


def weight_share(part: float, weight: float) -> float:
    """``part`` as a share of the total ``weight``, 0 when there is no weight: the one rule for the
    covered share (and the bound's, the protected and observed shares) everywhere."""
    return part / weight if weight > 0 else 0.0


@dataclass(frozen=True)
class Reach:
    """What a set of posts reaches among the places at risk.

    ``people_at_risk`` and ``people_in_reach`` count people (the places' ``at_risk`` column; NaN when
    the table has none); ``weight`` and ``weight_in_reach`` the planner's weight (people at risk x risk
    multiplier), which the posts were placed to cover.
    """

    people_at_risk: float
    people_in_reach: float
    weight: float
    weight_in_reach: float

    @property
    def covered_share(self) -> float:
        """Share of the weight within reach (0 when there is no weight)."""
        return weight_share(self.weight_in_reach, self.weight)

    @property
    def people_share(self) -> float:
        """Share of the people at risk within reach (0 when nobody is at risk; NaN without counts)."""
        if np.isnan(self.people_at_risk):
            return float("nan")
        return weight_share(self.people_in_reach, self.people_at_risk)


def reach_of(
    places: pd.DataFrame,
    covered: Iterable[Any] | npt.NDArray[np.bool_],
    *,
    id_column: str | None = None,
    people: str = "at_risk",
    weight: str = "weight",
) -> Reach:
    """People at risk and weight of ``places`` within reach.

    ``covered`` is either the ids of the places within reach (matched against ``id_column``, default
    ``place_id`` or ``id``) or a boolean mask with one entry per row. A table without ``people`` gives
    NaN people; without ``weight`` the people are the weight.
    """
    if not isinstance(places, pd.DataFrame):
        raise SchemaError(f"The places table must be a pandas DataFrame; got {type(places).__name__}.")
    if isinstance(covered, np.ndarray) and covered.dtype == bool:
        if covered.size != len(places):
            raise SchemaError(f"The reach mask has {covered.size} entries for {len(places)} places.")
        mask = covered
    else:
        column = id_column or next((c for c in ("place_id", "id") if c in places.columns), None)
        if column is None:
            raise SchemaError("The places table needs a place_id or id column to match covered ids.")
        mask = places[column].isin(set(covered)).to_numpy()
    has_people = people in places.columns
    if not has_people and weight not in places.columns:
        raise SchemaError(f"The places table has neither {people!r} nor {weight!r}: nothing to count.")
    counts = places[people].to_numpy(float) if has_people else np.full(len(places), np.nan)
    weights = places[weight].to_numpy(float) if weight in places.columns else counts
    return Reach(
        people_at_risk=float(counts.sum()) if has_people else float("nan"),
        people_in_reach=float(counts[mask].sum()) if has_people else float("nan"),
        weight=float(weights.sum()),
        weight_in_reach=float(weights[mask].sum()),
    )
