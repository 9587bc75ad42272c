"""``ruff format`` formats every file; a ``# fmt: skip`` must be one a reader can justify (issue 19).

A ratchet, like the scenario-facts scan: ``KNOWN`` lists, per file, how many ``# fmt: skip`` or
``# fmt: off`` comments it still has (most are hand-wrapped calls the formatter would wrap just as
well; the owner named in the comment removes them). A file may lose skips but never gain them, and no
other file may have any. A skip a reader can justify (an aligned table, a list of column names kept
compact) goes in ``JUSTIFIED`` with the reason.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SKIP = re.compile(r"#\s*fmt:\s*(skip|off)\s*$")  # the comment ends its line

#: Unjustified skips still there at the end of the session that added this test (owner in the comment).
KNOWN: dict[str, int] = {}

#: Skips a reader can justify: (file, the text of the skipped statement's first line) -> why.
JUSTIFIED: dict[tuple[str, str], str] = {
    ("src/kalkan/plan/exposure.py", "EXPOSURE_COLUMNS = ["): "20 column names, kept compact",
    ("src/kalkan/scenarios/_places.py", "PLACE_COLUMNS = ["): "13 column names, kept compact",
    ("src/kalkan/scenarios/_incidents.py", "_EVENT_COLUMNS = ["): "27 column names, kept compact",
    ("src/kalkan/scenarios/_displacement.py", "COLUMNS = ["): "13 column names, kept compact",
    ("src/kalkan/scenarios/_displacement.py", "PARSED = ["): "15 column names, kept compact",
    ("src/kalkan/report/mandates.py", "DOCTRINE = {"): "a table of words, one force a row",
    ("tests/register/test_i18n_catalogs.py", "_KEPT = {"): "30 words kept in every language, kept compact",
}


def _skips() -> dict[str, list[int]]:
    """Line numbers of the skips per file (relative path), over src, tests and bench."""
    found: dict[str, list[int]] = {}
    for folder in ("src", "tests", "bench"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            lines = path.read_text(encoding="utf-8").splitlines()
            hits = [n for n, line in enumerate(lines, 1) if SKIP.search(line)]
            if hits:
                found[path.relative_to(ROOT).as_posix()] = hits
    return found


def _statement_start(lines: list[str], n: int) -> str:
    """The first line of the statement a skip on line ``n`` closes (walking back to an unindented
    or less indented line that opens it)."""
    depth = 0
    for k in range(n - 1, -1, -1):
        line = lines[k]
        depth += line.count(")") + line.count("]") + line.count("}")
        depth -= line.count("(") + line.count("[") + line.count("{")
        if depth <= 0:
            return line.strip()
    return lines[n - 1].strip()


def test_no_file_gains_a_format_skip() -> None:
    grown = []
    for file, hits in _skips().items():
        lines = (ROOT / file).read_text(encoding="utf-8").splitlines()
        justified = sum((file, _statement_start(lines, n)) in JUSTIFIED for n in hits)
        unjustified = len(hits) - justified
        if unjustified > KNOWN.get(file, 0):
            grown.append(f"{file}: {unjustified} (allowed {KNOWN.get(file, 0)}), lines {hits}")
    assert not grown, (
        "New '# fmt: skip': let `ruff format` wrap the code, or add the skip to JUSTIFIED with the "
        "reason a reader needs:\n" + "\n".join(grown)
    )


def test_justified_skips_are_still_there() -> None:
    found = _skips()
    for (file, start), why in JUSTIFIED.items():
        lines = (ROOT / file).read_text(encoding="utf-8").splitlines()
        starts = {_statement_start(lines, n) for n in found.get(file, [])}
        assert start in starts, f"{file}: no skip on {start!r} ({why}) any more: drop it from JUSTIFIED"
