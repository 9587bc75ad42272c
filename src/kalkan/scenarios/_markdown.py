"""Read the two Markdown files of a scenario: ``facts.md`` (key figures) and ``SOURCES.md`` (citations).

They are written for people, so the parsers follow their simple conventions: ``## `` headings name a topic,
figures sit in Markdown table rows (figure | what | sources) or in bullets that end with
``: SOURCE_ID, SOURCE_ID.``; source tables have a header row that starts with ``| ID |``.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from kalkan.errors import ScenarioError

SOURCE_ID = r"[SD]_[A-Z0-9_]+"
_IDS = re.compile(rf"{SOURCE_ID}")
# A sourced statement inside a bullet: "text: S_A, S_B." (the text may itself contain colons).
_STATEMENT = re.compile(rf"(?P<text>.+?):\s*(?P<ids>{SOURCE_ID}(?:\s*,\s*{SOURCE_ID})*)\.?(?=\s|$)")
_LEADING_NUMBER = re.compile(r"^\W*(?:about |over |at least |up to )?~?(?P<num>\d[\d,]*(?:\.\d+)?)", re.I)

FACT_COLUMNS = ["topic", "figure", "value", "unit", "what", "source_ids", "status", "headline", "known_on"]
SOURCE_COLUMNS = ["source_id", "title", "publisher", "date", "url", "known_on"]


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def _is_rule(line: str) -> bool:
    return bool(re.fullmatch(r"\|?[\s:|-]+\|?", line.strip()))


def leading_number(text: str) -> float:
    """The number a figure starts with ("~470 dead" -> 470.0), NaN if it starts with words."""
    match = _LEADING_NUMBER.match(text)
    return float(match.group("num").replace(",", "")) if match else float("nan")


def read_facts(path: Path) -> pd.DataFrame:
    """Parse ``facts.md`` into one row per sourced statement.

    Returns
    -------
    DataFrame
        ``topic, figure, value, unit, what, source_ids, status, headline``: ``source_ids`` is ``;``-joined,
        ``status`` is ``sourced`` or ``not found`` (statements the data set says it could not verify),
        ``known_on`` the table's fourth cell as written ("" when absent; the loader fills it from the
        sources), ``value`` the leading number of a table row's figure (NaN for bullets, whose sentences hold
        several numbers: the scenario's headline figures give those values explicitly).
    """
    text = path.read_text(encoding="utf-8")
    rows: list[dict[str, object]] = []
    topic = ""
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if stripped.startswith("## "):
            topic = stripped[3:].strip()
        elif stripped.startswith("|") and topic:
            cells = _cells(stripped)
            if _is_rule(stripped) or cells[0].lower() == "figure":
                continue
            if len(cells) not in (3, 4):
                raise ScenarioError(
                    f"{path.name} line {number} has {len(cells)} table cells, expected 3 or 4 "
                    "(figure | what it counts | sources | known on): fix the row."
                )
            ids = _IDS.findall(cells[2])
            fact = _fact(topic, cells[0], cells[1], ids, value=leading_number(cells[0]))
            fact["known_on"] = cells[3] if len(cells) == 4 else ""
            rows.append(fact)
        elif stripped.startswith("- ") and topic:
            body = stripped[2:].strip()
            matches = list(_STATEMENT.finditer(body))
            if not matches:
                rows.append(_fact(topic, body.replace("**", ""), "", []))
                continue
            for match in matches:
                statement = match.group("text").strip().lstrip(".;, ")
                rows.append(_fact(topic, statement.replace("**", ""), "", _IDS.findall(match.group("ids"))))
    if not rows:
        raise ScenarioError(
            f"{path.name} holds no figures: expected '## Topic' sections with tables or bullets."
        )
    return pd.DataFrame(rows, columns=FACT_COLUMNS)


def _fact(
    topic: str, figure: str, what: str, ids: list[str], value: float = float("nan")
) -> dict[str, object]:
    not_found = "not found" in figure.lower() or "not verified" in figure.lower()
    return {
        "topic": topic,
        "figure": figure,
        "value": value,
        "unit": "",
        "what": what,
        "source_ids": ";".join(ids),
        "status": "not found" if (not_found or not ids) else "sourced",
        "headline": False,
        "known_on": "",
    }


def _first_id(cell: str) -> str:
    # "S_KIC (see S_CEPS, S_JURIST_KIC)" names S_KIC; the rest is a cross-reference.
    found = _IDS.findall(cell)
    return found[0] if found else cell


def read_sources(path: Path) -> pd.DataFrame:
    """Parse every ``| ID | ...`` table of SOURCES.md: ``source_id, title, publisher, date, url, known_on``.

    ``known_on`` is the optional ``Known on`` column as written ("" when absent).
    """
    rows: list[dict[str, str]] = []
    header: list[str] | None = None
    for line in path.read_text(encoding="utf-8").splitlines():
        stripped = line.strip()
        if not stripped.startswith("|"):
            header = None
            continue
        cells = _cells(stripped)
        if cells and cells[0] == "ID":
            header = [cell.lower() for cell in cells]
            continue
        if header is None or _is_rule(stripped):
            continue
        record = dict(zip(header, cells, strict=False))
        rows.append(
            {
                "source_id": _first_id(record.get("id", "")),
                "title": record.get("title", record.get("page", "")),
                "publisher": record.get("publisher", "Wikipedia-family page citing the census"),
                "date": record.get("date", ""),
                "url": record.get("url", ""),
                "known_on": record.get("known on", ""),
            }
        )
    if not rows:
        raise ScenarioError(
            f"{path.name} lists no sources: expected tables whose header starts with '| ID |'."
        )
    frame = pd.DataFrame(rows, columns=SOURCE_COLUMNS)
    duplicated = frame["source_id"][frame["source_id"].duplicated()].tolist()
    if duplicated:
        raise ScenarioError(
            f"{path.name} lists source ids twice: {', '.join(duplicated)}; keep one row each."
        )
    return frame
