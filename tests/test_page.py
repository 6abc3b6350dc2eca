"""The search page at `/`, in a real browser (Debian's chromium driven by Playwright) against a real uvicorn server.

The screenshot of the first search lands in artifacts/search-page.png (git-ignored) for people to look at.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Browser, Page, Route, expect, sync_playwright
from pydantic import SecretStr

from search_api.app import create_app
from semsearch.engine import Engine
from semsearch.indexer import Document
from tests.helpers import ROOT, borrow_engine
from tests.live_server import serve_in_thread

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOT = ROOT / "artifacts" / "search-page.png"
KEY = "page-test-key"
QUERY = "roll dice and flip coins in a simulation"

needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="needs Debian's chromium: apt-get install -y chromium (.ci/run does)"
)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.skip("needs Debian's chromium: apt-get install -y chromium (.ci/run does)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def keyed_base(sample_engine: Engine) -> Iterator[str]:
    settings = sample_engine.settings.model_copy(update={"api_key": SecretStr(KEY)})
    with serve_in_thread(borrow_engine(create_app(settings, engine=sample_engine), sample_engine)) as base:
        yield base


def search(page: Page, query: str, mode: str = "dense", top_k: int = 5) -> None:
    page.fill("#query", query)
    page.select_option("#mode", mode)
    page.fill("#top-k", str(top_k))
    page.click("button[type=submit]")


@needs_chromium
def test_a_query_typed_in_the_page_shows_the_expected_document_first(browser: Browser, keyed_base: str) -> None:
    page = browser.new_page(viewport={"width": 1100, "height": 900})
    page.goto(f"{keyed_base}/")
    expect(page).to_have_title("semantic search")
    expect(page.locator("a[href='/docs']")).to_be_visible()

    search(page, QUERY)
    expect(page.locator("#status")).to_contain_text("401")
    expect(page.locator("#key-box")).to_have_attribute("open", "")

    page.fill("#api-key", KEY)
    page.click("button[type=submit]")
    expect(page.locator("#status")).to_contain_text("5 hits · dense")
    hits = page.locator("#results li")
    expect(hits).to_have_count(5)
    first = hits.first
    api = httpx.post(
        f"{keyed_base}/search",
        json={"query": QUERY, "top_k": 5, "mode": "dense"},
        headers={"Authorization": f"Bearer {KEY}"},
    ).json()["results"][0]
    assert api["doc_id"] == "sample_data/library/random.md"
    expect(first.locator(".doc-id")).to_have_text(f"sample_data/library/random.md #{api['chunk_index']}")
    expect(first.locator(".source")).to_have_text("sample_data/library/random.md")
    assert re.fullmatch(r"0\.\d{3}", first.locator(".score").text_content() or "")
    marked = {text.lower() for text in page.locator("#results mark").all_text_contents()}
    assert marked and marked <= {"roll", "dice", "flip", "coins", "simulation"}, marked  # no stop words
    SCREENSHOT.parent.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOT), full_page=True)

    page.reload()  # the key stays for this tab's session
    expect(page.locator("#api-key")).to_have_value(KEY)
    search(page, "calculate money amounts without losing cents to rounding errors", top_k=3)
    expect(page.locator("#results li .doc-id").first).to_have_text(re.compile(r"^sample_data/library/decimal\.md #"))
    page.close()


@needs_chromium
def test_markup_in_a_document_is_shown_as_text_and_never_runs(browser: Browser, engine: Engine) -> None:
    evil = 'Beware <img src=x onerror="window.pwned=1"> and <script>window.pwned=2</script> in pwned text.'
    engine.indexer.index([Document(id="evil <b>id</b>", text=evil, source="<i>source</i>")])
    with serve_in_thread(borrow_engine(create_app(engine.settings, engine=engine), engine)) as base:
        page = browser.new_page()
        page.goto(f"{base}/")
        search(page, "pwned markup", mode="keyword")
        first = page.locator("#results li").first
        expect(first.locator(".text")).to_contain_text('<img src=x onerror="window.pwned=1">')
        expect(first.locator(".source")).to_have_text("<i>source</i>")
        expect(first.locator("mark")).to_have_text(["pwned", "pwned", "pwned"])
        assert page.locator("#results img, #results script, #results i, #results b").count() == 0
        assert page.evaluate("window.pwned") is None
        page.close()


def test_the_page_is_open_and_strict_while_the_api_needs_the_key(sample_engine: Engine) -> None:
    settings = sample_engine.settings.model_copy(update={"api_key": SecretStr(KEY)})
    with TestClient(borrow_engine(create_app(settings, engine=sample_engine), sample_engine)) as client:
        page = client.get("/")
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assert "script-src 'self'" in page.headers["content-security-policy"]
        assert client.get("/static/search.js").headers["content-type"].startswith("text/javascript")
        assert client.get("/static/search.css").headers["content-type"].startswith("text/css")
        assert client.get("/static/../app.py").status_code in (401, 404)
        assert client.get("/static/index.html").status_code == 401  # not an asset: guarded, and 404 behind it
        assert client.post("/search", json={"query": "x"}).status_code == 401
        script = client.get("/static/search.js").text
        assert ".innerHTML" not in script and "insertAdjacentHTML" not in script and "document.write" not in script


#: What each documentation page shows once its script has run: Swagger UI's operation rows, ReDoc's title.
API_DOCS = {"/docs": ".opblock-summary-path >> text=/search", "/redoc": "h1 >> text=milvus semantic search"}


@needs_chromium
@pytest.mark.parametrize("path", API_DOCS)
def test_the_api_docs_render_with_the_network_blocked(browser: Browser, sample_engine: Engine, path: str) -> None:
    """/docs and /redoc load their scripts and styles from this server (the package), not a CDN: with every other
    host unreachable, as on an air-gapped server, they still render, and they ask no other host for anything."""
    app = borrow_engine(create_app(sample_engine.settings, engine=sample_engine), sample_engine)
    with serve_in_thread(app) as base:
        context = browser.new_context()
        outside: list[str] = []

        def only_this_server(route: Route) -> None:
            if route.request.url.startswith(f"{base}/"):
                route.continue_()
            else:
                outside.append(route.request.url)
                route.abort("internetdisconnected")

        context.route("**/*", only_this_server)
        page = context.new_page()
        page.goto(f"{base}{path}")
        expect(page.locator(API_DOCS[path]).first).to_be_visible(timeout=30_000)
        page.wait_for_load_state("networkidle")  # what the page loads after it renders (ReDoc's logo) counts too
        assert outside == []
        context.close()
