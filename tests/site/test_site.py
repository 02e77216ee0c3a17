"""The built book as a reader meets it: every page in a real browser (Debian's Chromium, driven by Playwright).

Run with ``make site`` after ``make html``. It serves ``_build/html`` on 127.0.0.1 and checks, page by page
of the table of contents: no JavaScript error or failed request, no request outside the machine (the book
reads offline), every formula typeset by MathJax, every image loaded; then that every internal link and
anchor resolves, that the search page finds the right chapter, that each chapter's download button gives
its notebook, and that no code cell's input needs horizontal scrolling. It saves a screenshot of the first page of each part in ``_build/html/_screenshots``.
"""

from __future__ import annotations

import functools
import html.parser
import http.server
import json
import os
import re
import shutil
import threading
import urllib.parse
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SITE = ROOT / "_build" / "html"
SCREENSHOTS = SITE / "_screenshots"


def toc_pages() -> list[str]:
    """The pages of _toc.yml, as paths under the site (``book/chapters/01-background.html``), root first."""
    text = (ROOT / "_toc.yml").read_text(encoding="utf-8")
    root = re.search(r"^root:\s*(\S+)", text, re.M).group(1)
    files = re.findall(r"^\s*-\s*file:\s*(\S+)", text, re.M)
    return [f"{name}.html" for name in [root, *files]]


def part_first_pages() -> list[str]:
    text = (ROOT / "_toc.yml").read_text(encoding="utf-8")
    return [f"{name}.html" for name in re.findall(r"caption:.*\n\s*(?:numbered:.*\n\s*)?chapters:\n\s*-\s*file:\s*(\S+)", text)]


def chromium() -> str:
    for candidate in (os.environ.get("CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium"), shutil.which("chromium-browser")):
        if candidate and Path(candidate).exists():
            return candidate
    pytest.fail("no Chromium found: install Debian's package (`sudo apt-get install chromium`; `bash tools/setup.sh` "
                "does it when run as root) or set CHROMIUM to the browser's path")


@pytest.fixture(scope="module")
def server():
    if not (SITE / "index.html").exists():
        pytest.fail(f"{SITE} has no built book: run `make html` first")
    handler = functools.partial(_QuietHandler, directory=str(SITE))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright   # in requirements.txt; it drives Debian's Chromium, not its own

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium(), args=["--no-sandbox"])
        yield launched
        launched.close()


class PageVisit:
    """One page loaded in the browser, with what went wrong while it loaded."""

    def __init__(self, browser, server: str, path: str):
        self.problems: list[str] = []
        self.page = browser.new_page(viewport={"width": 1280, "height": 900})
        self.page.route("**/*", functools.partial(self._offline, server))
        self.page.on("console", lambda message: message.type == "error" and self.problems.append(f"console: {message.text}"))
        self.page.on("pageerror", lambda error: self.problems.append(f"JavaScript error: {error}"))
        self.page.on("response", lambda response: response.status >= 400
                     and self.problems.append(f"HTTP {response.status}: {response.url}"))
        self.page.goto(f"{server}/{path}", wait_until="networkidle")

    def _offline(self, server, route):
        if route.request.url.startswith(server):
            route.continue_()
        else:
            self.problems.append(f"request outside the machine: {route.request.url}")
            route.abort()


@pytest.mark.parametrize("path", toc_pages())
def test_page_loads_clean_with_math_and_images(browser, server, path):
    assert (SITE / path).exists(), f"{path} is in _toc.yml but was not built"
    visit = PageVisit(browser, server, path)
    page = visit.page
    formulas = page.locator(".math").count()
    if formulas:
        page.wait_for_function("document.querySelectorAll('.math mjx-container').length > 0", timeout=30_000)
        page.wait_for_load_state("networkidle")
        untypeset = page.evaluate("Array.from(document.querySelectorAll('.math')).filter(m => !m.querySelector('mjx-container')).length")
        assert untypeset == 0, f"{path}: {untypeset} of {formulas} formulas were not typeset by MathJax"
        assert page.locator("mjx-merror").count() == 0, f"{path}: MathJax reports an error in a formula"
    broken = page.evaluate("Array.from(document.images).filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src)")
    assert broken == [], f"{path}: images that did not load: {broken}"
    if path in part_first_pages() or path == toc_pages()[0]:
        SCREENSHOTS.mkdir(exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / (Path(path).stem + ".png")))
    page.close()
    assert visit.problems == [], f"{path}:\n" + "\n".join(visit.problems)


class _Links(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.hrefs: list[str] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if attrs.get("id"):
            self.ids.add(attrs["id"])
        if tag == "a" and attrs.get("href"):
            self.hrefs.append(attrs["href"])


def _parse(path: Path) -> _Links:
    links = _Links()
    links.feed(path.read_text(encoding="utf-8"))
    return links


def test_every_internal_link_and_anchor_resolves():
    parsed: dict[Path, _Links] = {}
    broken = []
    for path in toc_pages():
        source = SITE / path
        links = parsed[source] = parsed.get(source) or _parse(source)
        for href in links.hrefs:
            url = urllib.parse.urlsplit(href)
            if url.scheme or url.netloc or href.startswith("mailto:"):
                continue
            target = (source.parent / urllib.parse.unquote(url.path)).resolve() if url.path else source
            if target.is_dir():
                target = target / "index.html"
            if not target.exists():
                broken.append(f"{path}: {href} (no such file)")
            elif url.fragment and target.suffix == ".html":
                if target not in parsed:
                    parsed[target] = _parse(target)
                ids = parsed[target].ids
                if urllib.parse.unquote(url.fragment) not in ids:
                    broken.append(f"{path}: {href} (no such anchor)")
    assert broken == [], "\n".join(broken[:50])


def _chapter(stem: str) -> str:
    return next(page for page in toc_pages() if Path(page).stem.endswith(stem))


@pytest.mark.parametrize("query, stem", [("Kneser-Ney", "01-background"), ("WordPiece", "11-bert"),
                                         ("co-occurrence", "07-glove")])
def test_search_finds_the_chapter(browser, server, query, stem):
    visit = PageVisit(browser, server, f"search.html?q={urllib.parse.quote(query)}")
    page = visit.page
    page.wait_for_selector("#search-results ul.search li", timeout=30_000)
    found = [link.get_attribute("href") for link in page.locator("#search-results ul.search li a").all()][:5]
    page.close()
    assert any(Path(_chapter(stem)).name in (href or "") for href in found), f"search for {query!r} gave {found}"
    assert visit.problems == [], "\n".join(visit.problems)


@pytest.mark.parametrize("path", [page for page in toc_pages() if "/chapters/" in page])
def test_download_button_gives_the_notebook(browser, server, path):
    visit = PageVisit(browser, server, path)
    links = [link.get_attribute("href") for link in visit.page.locator("a[href$='.ipynb']").all()]
    visit.page.close()
    assert links, f"{path}: no download link to the chapter's .ipynb"
    notebook = (SITE / path).parent / links[0]
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    assert any(cell["cell_type"] == "code" and cell.get("outputs") for cell in cells), f"{notebook}: no stored outputs"


@pytest.mark.parametrize("path", [page for page in toc_pages() if "/chapters/" in page][:3])
def test_exercises_are_numbered_and_solutions_open_on_click(browser, server, path):
    visit = PageVisit(browser, server, path)
    page = visit.page
    titles = [title.inner_text() for title in page.locator(".exercise .admonition-title").all()]
    assert titles and all(re.match(r"Exercise \d+", title) for title in titles), f"{path}: exercise titles {titles}"
    solution = page.locator(".solution.dropdown").first
    content = solution.locator("section").first
    assert not content.is_visible(), f"{path}: a solution is visible before it is clicked"
    solution.locator("button.toggle-button").click()
    content.wait_for(state="visible", timeout=10_000)
    page.close()
    assert visit.problems == [], "\n".join(visit.problems)


_CODE_INPUTS = "div.cell_input pre"   # myst-nb's input box of a code cell; outputs are div.cell_output


def _code_line_limit() -> int:
    import importlib.util

    spec = importlib.util.spec_from_file_location("chapters", ROOT / "tools" / "chapters.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.CODE_LINE_LIMIT


@pytest.mark.parametrize("path", [page for page in toc_pages() if "/chapters/" in page])
def test_code_inputs_fit_without_horizontal_scrolling(browser, server, path):
    """Every code cell's input fits its box at the test's viewport (1280 px): ``scrollWidth <= clientWidth``.

    Only inputs are checked: an output may scroll (a long printed table is fine). The box must also hold
    ``CODE_LINE_LIMIT`` characters of its monospace font (a cell tagged hide-cell is the narrowest), the limit ``tools/chapters.py lint`` checks the
    sources against, so that limit stays the width a reader sees.
    """
    visit = PageVisit(browser, server, path)
    page = visit.page
    boxes = page.evaluate(f"""() => Array.from(document.querySelectorAll({_CODE_INPUTS!r})).map((pre, i) => ({{
        index: i, scroll: pre.scrollWidth, client: pre.clientWidth,
        longest: pre.textContent.split("\\n").reduce((a, b) => b.length > a.length ? b : a, "")}}))""")
    fits = page.evaluate(f"""() => Math.min(...Array.from(document.querySelectorAll({_CODE_INPUTS!r})).map(pre => {{
        const style = getComputedStyle(pre), probe = document.createElement("span");
        probe.textContent = "x".repeat(200);
        pre.appendChild(probe);
        const width = probe.getBoundingClientRect().width / 200;
        probe.remove();
        return Math.floor((pre.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight)) / width);
    }}))""")
    page.close()
    assert boxes, f"{path}: no code inputs ({_CODE_INPUTS}) found: did the theme's markup change?"
    scrolling = [f"code input {b['index']}: {b['scroll']} px of text in a {b['client']} px box; longest line: "
                 f"{b['longest'].strip()[:60]}" for b in boxes if b["scroll"] > b["client"]]
    assert scrolling == [], f"{path}: code inputs that scroll sideways (break their lines):\n" + "\n".join(scrolling)
    assert fits >= _code_line_limit(), (f"{path}: the narrowest code input holds {fits} characters, fewer than "
                                        f"CODE_LINE_LIMIT = {_code_line_limit()} in tools/chapters.py: lower it")
