"""Every form of the pages works in every language they offer, and no page breaks its layout there.

Each language is driven through its own labels (looked up in its catalogue, so a label left
untranslated or translated twice differently fails here), and every page is measured at a phone's
and a desk's width: nothing may leave the screen, scroll the page sideways, or overflow its box. The
longest translation of every message is in one of the languages, so every longest text is shown.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from _pages_server import Server
from playwright.sync_api import Page, expect

from kalkan.register.i18n import available_languages, language

LANGUAGES = available_languages()
LANG_COOKIE = "kalkan_lang"

# Which role sees each page; {id} is a report filed for the test.
PAGES = [
    (None, "/signin"),
    ("monitor", "/report"),
    ("monitor", "/incidents"),
    ("analyst", "/incidents"),
    ("analyst", "/queue"),
    ("analyst", "/map"),
    ("analyst", "/export"),
    ("admin", "/incidents/{id}"),
    ("monitor", "/queue"),  # the 403 page
    ("monitor", "/mission"),
    ("monitor", "/mission/new/detention_visit"),  # the longest forms
    ("monitor", "/mission/new/dispute"),
]

LAYOUT = """() => {
  const vw = document.documentElement.clientWidth;
  const wide = document.documentElement.scrollWidth;
  const problems = [];
  if (wide > vw + 1) problems.push(`the page scrolls sideways (${wide} px wide in ${vw})`);
  const scrolls = (el) => {
    for (let a = el.parentElement; a; a = a.parentElement) {
      if (a.classList && a.classList.contains('leaflet-container')) return true;
      const o = getComputedStyle(a).overflowX;
      const page = a === document.body || a === document.documentElement;
      if (o === 'auto' || o === 'scroll' || o === 'hidden') return !page;
    }
    return false;
  };
  const name = (el) => {
    const text = (el.innerText || el.value || '').trim().slice(0, 50);
    return `${el.tagName.toLowerCase()}${el.id ? '#' + el.id : ''} "${text}"`;
  };
  const boxed = ['BUTTON', 'LABEL', 'LEGEND', 'TH', 'TD', 'SELECT', 'H1', 'H2', 'P', 'LI', 'SUMMARY'];
  for (const el of document.querySelectorAll('body *')) {
    const style = getComputedStyle(el);
    if (style.display === 'none' || style.visibility === 'hidden') continue;
    if (el.closest('[hidden], .sr-only, .visually-hidden')) continue;
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.height === 0) continue;
    if (r.width <= 1 && r.height <= 1) continue;  // a visually hidden element (clip)
    if (r.right <= 0) continue;  // moved off the screen on purpose (a skip link until it has focus)
    if (!scrolls(el) && (r.right > vw + 1 || r.left < -1)) {
      const where = `${Math.round(r.left)} to ${Math.round(r.right)} of ${vw} px`;
      problems.push(`${name(el)} leaves the screen (${where})`);
    }
    const overflows = el.scrollWidth > el.clientWidth + 2 && el.clientWidth > 0;
    if (boxed.includes(el.tagName) && style.display !== 'inline' && !scrolls(el) && overflows)
      problems.push(`${name(el)} overflows its box (${el.scrollWidth} px of text in ${el.clientWidth})`);
  }
  return [...new Set(problems)].slice(0, 10);
}"""


def _(code: str) -> Callable[[str], str]:
    return language(code).gettext


def open_as(browser: Any, server: Server, code: str, role: str | None, width: int = 1280) -> Page:
    """A new page in ``code``, signed in as ``role`` through the sign-in form in that language."""
    context = browser.new_context(
        base_url=server.url, viewport={"width": width, "height": 900}, accept_downloads=True
    )
    context.set_default_timeout(15_000)
    context.add_cookies([{"name": LANG_COOKIE, "value": code, "url": server.url}])
    page = context.new_page()
    if role is not None:
        t = _(code)
        page.goto("/signin")
        page.get_by_label(t("Access token")).fill(server.tokens[role])
        page.get_by_role("button", name=t("Sign in"), exact=True).click()
        page.wait_for_url(lambda url: "/signin" not in url)
        expect(page.get_by_role("button", name=t("Sign out"))).to_be_visible()
    return page


@pytest.fixture(scope="module")
def report(server: Server) -> int:
    """A report by the monitor, with a witness, for the report pages."""
    body = {
        "client_id": str(uuid.uuid4()),
        "type": "arson",
        "date_start": "2010-06-12",
        "latitude": 40.53,
        "longitude": 72.80,
        "source_reliability": "B",
        "information_credibility": "2",
        "description": "Houses set on fire in Cheremushki",
        "personal": {"witnesses": [{"name": "A. Witness"}]},
    }
    with server.api("monitor") as api:
        response = api.post("/api/incidents", json=body)
        response.raise_for_status()
        return int(response.json()["id"])


@pytest.mark.parametrize(
    "width",
    [360, pytest.param(1280, marks=pytest.mark.slow)],  # a phone's width is the hard one
)
@pytest.mark.parametrize("code", LANGUAGES)
def test_no_page_breaks_its_layout(browser: Any, server: Server, report: int, code: str, width: int) -> None:
    found = {}
    pages: dict[str | None, Page] = {}
    try:
        for role, path in PAGES:
            if role not in pages:
                pages[role] = open_as(browser, server, code, role, width)
            page = pages[role]
            page.goto(path.format(id=report))
            assert page.locator("html").get_attribute("lang") == code
            if path == "/map":
                expect(page.locator("#incident-map")).to_have_attribute("data-ready", "1")
            problems = page.evaluate(LAYOUT)
            if problems:
                found[f"{role} {path}"] = problems
    finally:
        for page in pages.values():
            page.context.close()
    assert found == {}, f"layout broken in {code} at {width} px: {found}"


def _marker() -> str:
    return f"i18n-{uuid.uuid4().hex[:8]}"


def _stored(server: Server, marker: str) -> list[dict[str, Any]]:
    with server.api("admin") as api:
        return list(api.get("/api/incidents", params={"q": marker}).json()["items"])


@pytest.mark.parametrize("code", LANGUAGES)
def test_the_report_form_files_a_report(browser: Any, server: Server, code: str) -> None:
    t, marker = _(code), _marker()
    page = open_as(browser, server, code, "monitor")
    try:
        page.goto("/report")
        page.get_by_label(t("Type"), exact=True).select_option("arson")
        page.get_by_label(t("Date"), exact=True).fill("2010-06-12")
        page.get_by_label(t("Description"), exact=True).fill(f"Houses burning ({marker}).")
        page.get_by_label(t("Latitude (°N, WGS84)")).fill("40.53")
        page.get_by_label(t("Longitude (°E, WGS84)")).fill("72.80")
        page.get_by_label(f"{t('Killed')}: {t('Men')}").fill("2")
        page.locator("#r-B").check()
        page.locator("#c-2").check()
        page.get_by_label(t("Witness name")).fill("Witness Alpha")
        page.get_by_role("button", name=t("Send report")).click()
        sent = t("Report sent: the register filed it as number {id}.").split("{id}")[0].strip()
        expect(page.locator("#report-result")).to_contain_text(sent)
    finally:
        page.context.close()
    stored = _stored(server, marker)
    assert len(stored) == 1 and stored[0]["victims"][0]["count"] == 2


@pytest.mark.slow  # three users, nine forms: 10-45 s per language on the shared test machine
@pytest.mark.parametrize("code", LANGUAGES)
def test_filter_decide_share_attach_and_export_forms_work(browser: Any, server: Server, code: str) -> None:
    t, marker = _(code), _marker()
    body = {
        "client_id": str(uuid.uuid4()),
        "type": "looting",
        "date_start": "2010-06-13",
        "latitude": 40.93,
        "longitude": 73.0,
        "source_reliability": "C",
        "information_credibility": "3",
        "description": f"Shops looted ({marker})",
        "personal": {"witnesses": [{"name": "B. Witness"}]},
    }
    with server.api("monitor") as api:
        iid = int(api.post("/api/incidents", json=body).json()["id"])
    analyst = open_as(browser, server, code, "analyst")
    try:
        # The list's filter form.
        analyst.goto("/incidents")
        analyst.get_by_label(t("Words in the description")).fill(marker)
        analyst.get_by_role("button", name=t("Filter"), exact=True).click()
        expect(analyst.locator("#incident-table tbody tr")).to_have_count(1)
        # A decision with its reason, on the report's page.
        analyst.goto(f"/incidents/{iid}")
        analyst.get_by_label(t("Reason (what corroborates, verifies or refutes it)")).fill("two sources")
        analyst.get_by_role("button", name=t("Corroborate"), exact=True).click()
        expect(analyst.locator("main")).to_contain_text(t("Corroborated"))
        # The export form.
        analyst.goto("/export")
        with analyst.expect_download() as download:
            analyst.get_by_role("button", name=t("Download"), exact=True).click()
        assert download.value.suggested_filename.endswith(".csv")
        # The map's filter form and the language form.
        analyst.goto("/map")
        analyst.get_by_role("button", name=t("Show"), exact=True).click()
        expect(analyst.locator("#incident-map")).to_have_attribute("data-ready", "1")
        other = next(c for c in LANGUAGES if c != code)
        analyst.locator("#lang-select").select_option(other)
        analyst.get_by_role("button", name=t("Change"), exact=True).click()
        expect(analyst.locator("html")).to_have_attribute("lang", other)
    finally:
        analyst.context.close()
    admin = open_as(browser, server, code, "admin")
    try:
        admin.goto(f"/incidents/{iid}")
        admin.get_by_label(t("Share with a role")).select_option("investigator")
        admin.get_by_role("button", name=t("Share"), exact=True).click()
        expect(admin.locator("main")).to_contain_text(t("Shared."))
    finally:
        admin.context.close()
    monitor = open_as(browser, server, code, "monitor")
    try:
        monitor.goto(f"/incidents/{iid}")
        monitor.get_by_label(t("Attach more files")).set_input_files(
            [{"name": "note.txt", "mimeType": "text/plain", "buffer": b"seen at 14:00"}]
        )
        monitor.get_by_role("button", name=t("Attach"), exact=True).click()
        expect(monitor.locator("main")).to_contain_text(t("Files attached."))
    finally:
        monitor.context.close()
    with server.api("admin") as api:
        detail = api.get(f"/api/incidents/{iid}").json()
    assert detail["status"] == "corroborated"
    assert [a["filename"] for a in detail["attachments"]] == ["note.txt"]
