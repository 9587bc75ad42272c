"""Event data in: read UCDP GED, ACLED, HXL and kalkan files, validate every row, quarantine refused ones.

``read_events(path)`` returns a :class:`ReadResult` (``events`` in :data:`kalkan.model.EVENT_FIELDS`
columns, ``quarantine`` with ``file, line, raw, reason``, ``rows``, ``format``); the store
(:mod:`kalkan.store`) imports the same chunks idempotently. See ``docs/events.md``.

The names below are loaded on first use, so that ``kalkan --help`` (which imports this package's
``commands``) does not pay for pandas.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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
    "Chunk",
    "QUARANTINE_COLUMNS",
    "REASONS",
    "ReadResult",
    "Source",
    "iter_chunks",
    "open_source",
    "read_events",
]

_HOME = {name: "kalkan.ingest.reader" for name in __all__}
_HOME["REASONS"] = "kalkan.ingest.validate"


def __getattr__(name: str) -> Any:
    if name in _HOME:
        return getattr(importlib.import_module(_HOME[name]), name)
    raise AttributeError(f"module 'kalkan.ingest' has no attribute {name!r}")
