"""Login CSRF (issue 17, finding 4), in Chromium: a page of another site auto-posts the attacker's token
to ``/signin`` while the victim is signed in. Before, the victim's browser was switched to the
attacker's account; now the post is refused and the victim stays who they were."""

from __future__ import annotations

import re

import httpx
from _pages_server import Server, sign_in
from playwright.sync_api import expect

ATTACKER = "http://attacker.example"


def _attacker_page(server: Server, token: str) -> str:
    # The attacker fetches a sign-in form themselves, so the post even carries a valid-looking token
    # (bound to the attacker's own pre-session cookie, which the victim's browser does not have).
    form = httpx.get(server.url + "/signin", trust_env=False).text
    csrf = re.search(r'name="csrf" value="([^"]+)"', form)
    assert csrf
    return f"""<!doctype html><html><body>
<form id="f" method="post" action="{server.url}/signin">
<input name="token" value="{token}"><input name="next" value="/report">
<input name="csrf" value="{csrf.group(1)}"></form>
<script>document.getElementById('f').submit()</script></body></html>"""


def test_a_foreign_page_cannot_sign_the_browser_into_another_account(context: object, server: Server) -> None:
    page = context.new_page()  # type: ignore[attr-defined]
    sign_in(page, server.tokens["monitor"])
    page.goto("/report")
    expect(page.locator("header")).to_contain_text("monitor-1")
    html = _attacker_page(server, server.tokens["analyst"])
    context.route(
        ATTACKER + "/**",
        lambda route: route.fulfill(  # type: ignore[attr-defined]
            status=200, content_type="text/html", body=html
        ),
    )
    with page.expect_response(lambda r: r.url.startswith(server.url + "/signin")) as answer:
        page.goto(ATTACKER + "/win-a-prize")
    assert answer.value.status == 403
    page.goto(server.url + "/report")
    expect(page.locator("header")).to_contain_text("monitor-1")
    expect(page.locator("header")).not_to_contain_text("analyst-1")
