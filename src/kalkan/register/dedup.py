"""Duplicate candidates: two reports of the same type, near in space and time, with similar text.

Two monitors who see one burning street file two reports; counting both doubles the toll. The
register proposes candidate pairs to analysts, who link them (``service.link_incidents``); nothing
is merged automatically.

Score (0..1) = 0.4 x closeness in space + 0.3 x closeness in time + 0.3 x text similarity, where
closeness is ``1 - distance / limit``. Text similarity is the Jaccard index of character trigrams
of the lower-cased descriptions, which works across languages and scripts (Cyrillic, Latin) without a
tokenizer or stemmer (a report in Russian and one in English will score low on text and can still
pass on space and time).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from kalkan.distance import haversine_km
from kalkan.register.schemas import DuplicateCandidate

__all__ = ["candidate_pairs", "haversine_km", "text_similarity"]

WEIGHTS = (0.4, 0.3, 0.3)


def _trigrams(text: str) -> set[str]:
    words = " ".join(re.findall(r"\w+", text.lower()))
    padded = f"  {words} "
    return {padded[i : i + 3] for i in range(len(padded) - 2)}


def text_similarity(a: str, b: str) -> float:
    """Jaccard index (0..1) of the character trigrams of two texts; 1.0 for identical words."""
    ta, tb = _trigrams(a), _trigrams(b)
    if not ta or not tb:
        return 0.0
    return len(ta & tb) / len(ta | tb)


def candidate_pairs(
    rows: Sequence[Any], *, distance_km: float, days: int, min_score: float, only: int | None = None
) -> list[DuplicateCandidate]:
    """Score pairs among ``rows`` (objects with ``id, event_type, date_start, latitude, longitude,
    description, lead_id``); pairs in one linked group are skipped. ``only`` keeps pairs with that id.

    Rows are swept by type and date, so the cost is the number of pairs within ``days`` of each
    other, not all pairs.
    """
    by_type: dict[str, list[Any]] = defaultdict(list)
    for row in rows:
        by_type[row.event_type].append(row)
    grams: dict[int, set[str]] = {}
    found: list[DuplicateCandidate] = []
    for kind, group in by_type.items():
        group.sort(key=lambda r: (r.date_start, r.id))
        for i, a in enumerate(group):
            for b in group[i + 1 :]:
                gap = (b.date_start - a.date_start).days
                if gap > days:
                    break
                if only is not None and only not in (a.id, b.id):
                    continue
                if (a.lead_id or a.id) == (b.lead_id or b.id):
                    continue
                dist = haversine_km(a.latitude, a.longitude, b.latitude, b.longitude)
                if dist > distance_km:
                    continue
                ga = grams.setdefault(a.id, _trigrams(a.description))
                gb = grams.setdefault(b.id, _trigrams(b.description))
                sim = len(ga & gb) / len(ga | gb) if ga and gb else 0.0
                space, time = 1 - dist / distance_km, 1 - gap / (days + 1)
                score = WEIGHTS[0] * space + WEIGHTS[1] * time + WEIGHTS[2] * sim
                if score >= min_score:
                    low, high = sorted((a.id, b.id))
                    found.append(
                        DuplicateCandidate(
                            incident_a=low,
                            incident_b=high,
                            type=kind,
                            distance_km=round(dist, 3),
                            days_apart=gap,
                            text_similarity=round(sim, 3),
                            score=round(score, 3),
                        )
                    )
    found.sort(key=lambda c: (-c.score, c.incident_a, c.incident_b))
    return found
