"""Event data in: read UCDP GED, ACLED, HXL and kalkan files, validate every row, quarantine refused ones.

``read_events(path)`` returns a :class:`ReadResult` (``events`` in :data:`kalkan.model.EVENT_FIELDS`
columns, ``quarantine`` with ``file, line, raw, reason``, ``rows``, ``format``). ``open_stream(path)``
gives the same file as one :class:`EventStream`: Arrow record batches of the accepted rows, then the
:class:`Refusal` list and the quarantine table; the store (:mod:`kalkan.store`) imports that stream
idempotently. See ``docs/events.md``.

The names below are loaded on first use, so that ``kalkan --help`` (which imports this package's
``commands``) does not pay for pandas.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kalkan._lazy import lazy_exports

if TYPE_CHECKING:
    from kalkan.ingest.reader import (
        DEFAULT_CHUNK_ROWS,
        QUARANTINE_COLUMNS,
        Chunk,
        ReadResult,
        Source,
        iter_chunks,
        open_source,
        read_events,
    )
    from kalkan.ingest.stream import EVENT_SCHEMA, EventStream, Refusal, open_stream
    from kalkan.ingest.validate import REASONS

__all__ = [
    "Chunk",
    "DEFAULT_CHUNK_ROWS",
    "EVENT_SCHEMA",
    "EventStream",
    "QUARANTINE_COLUMNS",
    "REASONS",
    "ReadResult",
    "Refusal",
    "Source",
    "iter_chunks",
    "open_source",
    "open_stream",
    "read_events",
]

_HOME = {name: "kalkan.ingest.reader" for name in __all__}
_HOME["REASONS"] = "kalkan.ingest.validate"
for _name in ("EVENT_SCHEMA", "EventStream", "Refusal", "open_stream"):
    _HOME[_name] = "kalkan.ingest.stream"


__getattr__, __dir__ = lazy_exports(__name__, _HOME)
