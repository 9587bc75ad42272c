"""Event data in: read UCDP GED, ACLED, HXL and kalkan files, validate every row, quarantine refused ones.

``read_events(path)`` returns a :class:`ReadResult` (``events`` in :data:`kalkan.model.EVENT_FIELDS`
columns, ``quarantine`` with ``file, line, raw, reason``, ``rows``, ``format``); the store
(:mod:`kalkan.store`) imports the same chunks idempotently. See ``docs/events.md``.
"""

from __future__ import annotations

from kalkan.ingest.reader import (
    QUARANTINE_COLUMNS,
    Chunk,
    ReadResult,
    Source,
    iter_chunks,
    open_source,
    read_events,
)
from kalkan.ingest.validate import REASONS

__all__ = [
    "QUARANTINE_COLUMNS",
    "REASONS",
    "Chunk",
    "ReadResult",
    "Source",
    "iter_chunks",
    "open_source",
    "read_events",
]
