"""The UN Framework of Analysis for Atrocity Crimes (2014) as data, and analysts' assessments against it.

The Framework (UN Office on Genocide Prevention and the Responsibility to Protect, 2014) lists 14 risk
factors, each with numbered indicators: factors 1-8 are common to all atrocity crimes, 9-10 specific to
genocide, 11-12 to crimes against humanity, 13-14 to war crimes. kalkan ships the factors and a short
paraphrase of every indicator (``data/framework_of_analysis_2014.yaml``, with its verification status)
and reads an analyst's assessment: for each indicator, present / absent / unknown, with an evidence
note, the sources and the date of the evidence. The risk-factor profile counts, per factor, how many
indicators are present; it is the structured judgement shown beside the statistical country risk.

Assessment file (YAML; see ``data/kyrgyzstan_2010_06.yaml``)::

    assessment: {country: ..., as_of: 2010-06-30, analyst: ..., area: ...}
    sources:    [{id: S_X, title: ..., publisher: ..., date: 2010-06-17, url: ...}, ...]
    indicators: [{code: "7.12", status: present, evidence: ..., sources: [S_X], date: 2010-06-17}, ...]

or CSV with columns ``code, status, evidence, sources, date`` (sources separated by ``;``, free-text
citations allowed) and the metadata passed as arguments. Indicators left out count as "not assessed".

The Framework itself gives no score; kalkan's ``level`` per factor (none / some / many indicators
present, cut at one third) is a display convention, not the UN's.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import pandas as pd

from kalkan.errors import InputError, SchemaError
from kalkan.tables import read_csv_table

__all__ = [
    "STATUSES",
    "Assessment",
    "Finding",
    "framework_indicators",
    "framework_factors",
    "load_assessment",
    "profile_chart",
    "risk_factor_profile",
    "shipped_assessment",
]

STATUSES = ("present", "absent", "unknown")
GROUP_LABELS = {
    "common": "common to all atrocity crimes",
    "genocide": "genocide",
    "crimes_against_humanity": "crimes against humanity",
    "war_crimes": "war crimes",
}
FRAMEWORK_FILE = "framework_of_analysis_2014.yaml"
KYRGYZSTAN_2010 = "kyrgyzstan_2010_06.yaml"


@cache
def _framework() -> dict[str, Any]:
    import yaml

    text = resources.files("kalkan.risk").joinpath("data", FRAMEWORK_FILE).read_text(encoding="utf-8")
    return dict(yaml.safe_load(text))


def framework_factors() -> pd.DataFrame:
    """The 14 risk factors: ``factor, name, group, paraphrase, indicators`` (count), ``verified``."""
    rows = [
        {
            "factor": f["code"],
            "name": f["name"],
            "group": f["group"],
            "paraphrase": f["paraphrase"],
            "indicators": len(f["indicators"]),
            "verified": bool(f["verified"]),
        }
        for f in _framework()["factors"]
    ]
    return pd.DataFrame(rows)


def framework_indicators() -> pd.DataFrame:
    """Every indicator: ``code`` (e.g. "7.12"), ``factor``, ``text`` (kalkan's paraphrase), ``verified``."""
    rows = [
        {"code": code, "factor": f["code"], "text": text, "verified": bool(f["verified"])}
        for f in _framework()["factors"]
        for code, text in f["indicators"].items()
    ]
    return pd.DataFrame(rows)


def framework_source() -> dict[str, str]:
    """Citation of the Framework of Analysis (title, publisher, date, url, note)."""
    return dict(_framework()["source"])


@dataclass(frozen=True)
class Finding:
    """One assessed indicator: its status, the evidence, where it comes from and when it was observed."""

    code: str
    status: str
    evidence: str
    sources: tuple[str, ...]
    date: dt.date


@dataclass(frozen=True)
class Assessment:
    """An analyst's assessment of one country (or area) at one date against the Framework's indicators."""

    country: str
    as_of: dt.date
    findings: tuple[Finding, ...]
    sources: pd.DataFrame = field(default_factory=pd.DataFrame)
    area: str = ""
    analyst: str = ""
    path: str = ""

    def table(self) -> pd.DataFrame:
        """Findings with indicator text: ``code, factor, indicator, status, evidence, sources, date``."""
        ind = framework_indicators().set_index("code")
        return pd.DataFrame(
            [
                {
                    "code": f.code,
                    "factor": ind.loc[f.code, "factor"],
                    "indicator": ind.loc[f.code, "text"],
                    "status": f.status,
                    "evidence": f.evidence,
                    "sources": "; ".join(f.sources),
                    "date": f.date,
                }
                for f in self.findings
            ]
        )


def _parse_date(value: Any) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = str(value).strip()
    for fmt in ("%Y-%m-%d", "%Y-%m"):
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    return None


def _listing(items: list[str], limit: int = 6) -> str:
    return ", ".join(items[:limit]) + (f" and {len(items) - limit} more" if len(items) > limit else "")


def load_assessment(
    path: str | Path, *, country: str | None = None, as_of: str | dt.date | None = None
) -> Assessment:
    """Read and validate an assessment file (YAML, or CSV with ``country``/``as_of`` given here).

    Every problem in the file is collected and reported in one :class:`~kalkan.errors.InputError`:
    indicator codes not in the Framework, statuses other than present/absent/unknown, an indicator
    assessed twice, a present or absent finding without a source, source IDs not in the file's source
    table, and dates that are not ISO (YYYY-MM-DD or YYYY-MM) or lie after the assessment date.

    Parameters
    ----------
    path
        ``.yaml``/``.yml`` or ``.csv`` file.
    country, as_of
        Metadata for a CSV file (YAML files carry their own; these override it if given).
    """
    path = Path(path)
    if not path.exists():
        raise InputError(
            f"The assessment file {path} does not exist: pass the path of a YAML or CSV assessment "
            "(kalkan ships one: kalkan risk framework --example)."
        )
    suffix = path.suffix.lower()
    if suffix in (".yaml", ".yml"):
        meta, source_rows, rows = _read_yaml(path)
    elif suffix == ".csv":
        meta, source_rows, rows = {}, None, _read_csv(path)
    else:
        raise SchemaError(
            f"{path.name} is neither YAML nor CSV (suffix {suffix or 'none'}): save the assessment "
            "as .yaml or .csv."
        )
    if country is not None:
        meta["country"] = country
    if as_of is not None:
        meta["as_of"] = as_of
    return _validate(path, meta, source_rows, rows)


def _read_yaml(path: Path) -> tuple[dict[str, Any], list[dict[str, Any]] | None, list[dict[str, Any]]]:
    import yaml

    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise SchemaError(
            f"{path.name} is not valid YAML{where}: fix the syntax (see "
            "docs/risk-countries.md for the layout)."
        ) from None
    if not isinstance(doc, dict) or "indicators" not in doc:
        raise SchemaError(
            f"{path.name} has no 'indicators' list: an assessment needs 'assessment', 'sources' and "
            "'indicators' sections."
        )
    meta = dict(doc.get("assessment") or {})
    sources = doc.get("sources")
    indicators = doc["indicators"]
    if not isinstance(indicators, list) or not all(isinstance(r, dict) for r in indicators):
        raise SchemaError(
            f"'indicators' in {path.name} must be a list of entries with code, status, evidence, "
            "sources and date."
        )
    if sources is not None and (
        not isinstance(sources, list) or not all(isinstance(s, dict) for s in sources)
    ):
        raise SchemaError(
            f"'sources' in {path.name} must be a list of entries with id, title, publisher, date and url."
        )
    return meta, sources, indicators


def _read_csv(path: Path) -> list[dict[str, Any]]:
    frame = read_csv_table(
        path,
        "assessment",
        required=("code", "date", "evidence", "sources", "status"),
        needs="An assessment CSV needs code, status, evidence, sources, date.",
        text=True,
    )
    rows = [{str(k): v for k, v in row.items()} for row in frame.to_dict("records")]
    for row in rows:
        row["sources"] = [s.strip() for s in str(row["sources"]).split(";") if s.strip()]
    return rows


def _validate(
    path: Path, meta: dict[str, Any], source_rows: list[dict[str, Any]] | None, rows: list[dict[str, Any]]
) -> Assessment:
    problems: list[str] = []
    country = str(meta.get("country") or "").strip()
    if not country:
        problems.append("no country (set assessment.country, or pass --country for a CSV)")
    as_of = _parse_date(meta.get("as_of")) if meta.get("as_of") is not None else None
    if as_of is None:
        problems.append(
            f"the assessment date as_of is missing or not ISO (got {meta.get('as_of')!r}; "
            "write it as YYYY-MM-DD)"
        )

    source_ids: set[str] | None = None
    source_table = pd.DataFrame(columns=["source_id", "title", "publisher", "date", "url"])
    if source_rows is not None:
        source_ids = set()
        records = []
        for i, s in enumerate(source_rows, start=1):
            sid = str(s.get("id") or "").strip()
            if not sid:
                problems.append(f"source #{i} has no id")
                continue
            if not str(s.get("title") or "").strip():
                problems.append(f"source {sid} has no title")
            sdate = _parse_date(s.get("date")) if s.get("date") not in (None, "") else None
            if s.get("date") not in (None, "") and sdate is None:
                problems.append(f"source {sid} has a date that is not ISO ({s.get('date')!r})")
            source_ids.add(sid)
            records.append(
                {
                    "source_id": sid,
                    "title": s.get("title", ""),
                    "publisher": s.get("publisher", ""),
                    "date": sdate,
                    "url": s.get("url", ""),
                }
            )
        source_table = pd.DataFrame.from_records(records, columns=source_table.columns)

    known = set(framework_indicators()["code"])
    unknown_codes, bad_status, no_source, undefined, bad_dates, late, dupes = [], [], [], [], [], [], []
    seen: set[str] = set()
    findings = []
    numeric_codes = []
    for i, row in enumerate(rows, start=1):
        raw_code = row.get("code")
        if isinstance(raw_code, int | float) and not isinstance(raw_code, bool):
            numeric_codes.append(f"{raw_code!r} (entry #{i})")  # YAML reads 7.10 as the number 7.1
            continue
        code = str(raw_code or "").strip()
        label = code or f"entry #{i}"
        if code not in known:
            unknown_codes.append(label)
            continue
        if code in seen:
            dupes.append(code)
            continue
        seen.add(code)
        status = str(row.get("status") or "").strip().lower()
        if status not in STATUSES:
            bad_status.append(f"{code} ({row.get('status')!r})")
        srcs_raw = row.get("sources") or []
        srcs = tuple(
            str(s).strip() for s in (srcs_raw if isinstance(srcs_raw, list) else [srcs_raw]) if str(s).strip()
        )
        if not srcs and status in ("present", "absent"):
            no_source.append(code)
        if source_ids is not None:
            undefined += [f"{code}: {s}" for s in srcs if s not in source_ids]
        date = _parse_date(row.get("date")) if row.get("date") not in (None, "") else None
        if date is None:
            bad_dates.append(f"{code} ({row.get('date')!r})")
        elif as_of is not None and date > as_of:
            late.append(f"{code} ({date.isoformat()})")
        findings.append(
            Finding(code, status, str(row.get("evidence") or "").strip(), srcs, date or dt.date.min)
        )

    if numeric_codes:
        problems.append(
            f"{len(numeric_codes)} indicator codes are numbers, not text ({_listing(numeric_codes)}); "
            'quote them (code: "7.10"), since YAML reads 7.10 as 7.1'
        )
    if unknown_codes:
        problems.append(
            f"{len(unknown_codes)} indicator codes are not in the Framework ({_listing(unknown_codes)}); "
            "codes are like '7.12' (see kalkan risk framework --list)"
        )
    if dupes:
        problems.append(
            f"{len(dupes)} indicators are assessed twice ({_listing(dupes)}); keep one entry each"
        )
    if bad_status:
        problems.append(f"{len(bad_status)} statuses are not present/absent/unknown ({_listing(bad_status)})")
    if no_source:
        problems.append(
            f"{len(no_source)} present or absent findings have no source ({_listing(no_source)}); "
            "name at least one source for each"
        )
    if undefined:
        problems.append(
            f"{len(undefined)} source IDs are not in the sources table ({_listing(undefined)}); "
            "add them to 'sources'"
        )
    if bad_dates:
        problems.append(
            f"{len(bad_dates)} findings have a missing or non-ISO date ({_listing(bad_dates)}); "
            "write dates as YYYY-MM-DD"
        )
    if late:
        problems.append(
            f"{len(late)} findings are dated after the assessment date {as_of} ({_listing(late)}); "
            "an assessment may only use evidence known by its date"
        )
    if problems:
        raise InputError(
            f"{path.name} has {len(problems)} problem{'s' if len(problems) > 1 else ''}: "
            + "; ".join(problems)
            + "."
        )
    assert as_of is not None
    order = {c: i for i, c in enumerate(framework_indicators()["code"])}
    findings.sort(key=lambda f: order[f.code])
    return Assessment(
        country=country,
        as_of=as_of,
        findings=tuple(findings),
        sources=source_table,
        area=str(meta.get("area") or ""),
        analyst=str(meta.get("analyst") or ""),
        path=str(path),
    )


def shipped_assessment(name: str = "kyrgyzstan_2010") -> Assessment:
    """An assessment shipped with kalkan, named after the shipped scenario it assesses."""
    files = {"kyrgyzstan_2010": KYRGYZSTAN_2010}
    if name not in files:
        raise InputError(f"No shipped assessment named {name!r}: choose one of {', '.join(files)}.")
    with resources.as_file(resources.files("kalkan.risk").joinpath("data", files[name])) as path:
        return load_assessment(path)


def risk_factor_profile(assessment: Assessment) -> pd.DataFrame:
    """Per risk factor, how many of its indicators the assessment finds present, absent or unknown.

    Returns
    -------
    DataFrame
        One row per factor 1-14: ``factor, name, group, indicators, present, absent, unknown,
        not_assessed, share_present`` (present / indicators) and ``level``: "many" if at least a third
        of the indicators are present, "some" if any, "none" if none is present but some were assessed,
        "not assessed" otherwise (kalkan's display convention; the Framework gives no score), and
        ``indicators_verified`` (False for factors 10-14, whose indicator list is not yet checked
        against the published document).
    """
    factors = framework_factors()
    indicators = framework_indicators()
    status = {f.code: f.status for f in assessment.findings}
    rows = []
    for f in factors.itertuples(index=False):
        codes = indicators.loc[indicators["factor"] == f.factor, "code"].tolist()
        counts = {s: sum(status.get(c) == s for c in codes) for s in STATUSES}
        assessed = sum(counts.values())
        share = counts["present"] / len(codes)
        if counts["present"] and share >= 1 / 3:
            level = "many"
        elif counts["present"]:
            level = "some"
        elif assessed:
            level = "none"
        else:
            level = "not assessed"
        rows.append(
            {
                "factor": f.factor,
                "name": f.name,
                "group": f.group,
                "indicators": len(codes),
                **counts,
                "not_assessed": len(codes) - assessed,
                "share_present": share,
                "level": level,
                "indicators_verified": f.verified,
            }
        )
    out = pd.DataFrame(rows)
    out.attrs.update({"country": assessment.country, "as_of": assessment.as_of.isoformat()})
    return out


def profile_chart(profile: pd.DataFrame, path: str | Path, *, title: str | None = None) -> Path:
    """Draw the profile as stacked horizontal bars (present / unknown / absent / not assessed) to ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    fig, ax = plt.subplots(figsize=(8, 6))
    labels = [
        f"{factor}. {name[:48]}{'...' if len(name) > 48 else ''}"
        for factor, name in zip(profile["factor"].astype(str), profile["name"].astype(str), strict=True)
    ]
    left = pd.Series(0.0, index=profile.index)
    colours = {"present": "#b2182b", "unknown": "#f4a582", "absent": "#92c5de", "not_assessed": "#e0e0e0"}
    for col, colour in colours.items():
        ax.barh(labels, profile[col], left=left, color=colour, label=col.replace("_", " "))
        left = left + profile[col]
    ax.invert_yaxis()
    ax.set_xlabel("indicators of the risk factor")
    ax.legend(loc="lower right", frameon=False, fontsize=8)
    where = profile.attrs.get("country", "")
    when = profile.attrs.get("as_of", "")
    ax.set_title(title or f"UN Framework of Analysis risk factors: {where}, {when}".strip(", "), fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
