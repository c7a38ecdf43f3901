"""Opens every page of the built site in headless Chromium and fails on what a reader
would meet as broken (`make site-check`):

- a page that does not render: a script error, an error on the console, no main
  content, or (on the article and reference pages) an empty "On this page" list;
- a request that fails or answers >= 400, or any request leaving the machine (the
  site is read offline: every script, style sheet, font and image is its own);
- a broken image (not loaded, or 0 pixels wide), a link within the site to a file
  that does not exist or to an anchor that is not on the target page;
- an example or article chunk that raised an error (pkgdown shows it as `.r-err`),
  and a reference page whose examples draw (plot(), autoplot()) without an image;
- the search box finding nothing for a function's name.

Links out of the site (rdrr.io, keras.io...) are counted, not followed: the machine
that checks is offline. Screenshots of the home page, a reference page with its plot,
the article and the Python API go to site-check/.

Run with the project's virtualenv (playwright, with Debian's Chromium):
    python tools/site/check.py site site-check
"""

import functools
import http.server
import re
import sys
import threading
import time
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

from playwright.sync_api import sync_playwright

CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = {
    "home.png": ("index.html", True),
    "reference-autoplot.png": ("reference/autoplot-lrschedule.html", True),
    "article.png": ("articles/lrschedule.html", True),
    "python-api.png": ("python/lrschedule.html", False),
}
# Pages with pkgdown's "On this page" list that must be filled in.
WITH_TOC = re.compile(r"^(articles/(?!index)|reference/(?!index))[^/]+\.html$")


class Ids(HTMLParser):
    """The ids and names a page's anchors can point at."""

    def __init__(self):
        super().__init__()
        self.ids = set()

    def handle_starttag(self, tag, attrs):
        for key, value in attrs:
            if key in ("id", "name") and value:
                self.ids.add(value)


@functools.lru_cache(maxsize=None)
def anchors(path):
    parser = Ids()
    parser.feed(path.read_text(encoding="utf-8", errors="replace"))
    return frozenset(parser.ids)


def serve(root):
    handler = functools.partial(QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def check_links(site, page, here, hrefs, problems):
    """Links within the site must reach a file, and the anchor on it (links within the
    page are checked in the browser, where scripts may have added the anchors)."""
    external = 0
    for href in hrefs:
        if not href or href.startswith(("mailto:", "javascript:", "#")):
            continue
        url = urlsplit(urljoin(here, href))
        if not url.netloc.startswith("127.0.0.1"):
            external += 1
            continue
        target = site / unquote(url.path.lstrip("/"))
        if target.is_dir():
            target = target / "index.html"
        if not target.is_file():
            problems.append(f"{page}: link {href!r} leads to a missing file")
            continue
        if url.fragment and target.suffix == ".html" and url.fragment not in anchors(target):
            problems.append(f"{page}: link {href!r}: no #{url.fragment} on that page")
    return external


def redirect_target(site, page):
    """Where a page that only redirects (pdoc's index.html) leads, or None."""
    found = re.search(r'http-equiv="refresh"\s+content="\d+;\s*url=([^"]+)"',
                      (site / page).read_text(encoding="utf-8", errors="replace"))
    return found and found.group(1)


class Tab:
    """One browser tab for every page (a new tab per page cost 0.4 s of each page's
    0.56 s); what goes wrong while a page loads is noted against that page only."""

    def __init__(self, context, base):
        self.page = context.new_page()
        self.errors = None
        note = self.note
        self.page.on("pageerror", lambda e: note(f"script error: {e}"))
        self.page.on("console", lambda m: m.type == "error" and note(f"console error: {m.text}"))
        self.page.on("requestfailed", lambda r: note(f"request failed: {r.url} ({r.failure})"))
        self.page.on("response", lambda r: r.status >= 400 and note(f"{r.status} for {r.url}"))
        self.page.on("request", lambda r: not r.url.startswith((base, "data:")) and note(
            f"loads {r.url} from outside the site"))

    def note(self, message):
        if self.errors is not None:
            self.errors.append(message)

    def open(self, url):
        """Goes to `url` from a blank page (so nothing of the page before, a request it
        left running, is noted), and returns the response and the list of errors."""
        self.errors = None
        self.page.goto("about:blank")
        self.errors = errors = []
        return self.page.goto(url, wait_until="load"), errors


def check_page(tab, site, page, base, problems):
    target = redirect_target(site, page)
    if target:
        if not (site / page).parent.joinpath(target).is_file():
            problems.append(f"{page}: redirects to {target!r}, which is missing")
        return 0
    browser_page = tab.page
    response, errors = tab.open(base + page)
    if response is None or response.status != 200:
        problems.append(f"{page}: not served ({response and response.status})")
        return 0
    browser_page.wait_for_timeout(50)  # scripts run on DOM ready
    found = browser_page.evaluate("""() => ({
        title: document.title,
        text: (document.querySelector('main') || document.body).innerText.trim().length,
        images: Array.from(document.images).map(i => ({src: i.getAttribute('src'),
            ok: i.complete && i.naturalWidth > 0})),
        exampleImages: document.querySelectorAll('#ref-examples img').length,
        errors: Array.from(document.querySelectorAll('.r-err')).map(e => e.innerText.trim()),
        toc: document.querySelectorAll('#toc a.nav-link').length,
        tocNav: document.querySelectorAll('#toc').length,
        examples: Array.from(document.querySelectorAll('#ref-examples pre'))
            .map(p => p.innerText).join('\\n'),
        hrefs: Array.from(document.querySelectorAll('a[href]')).map(a => a.getAttribute('href')),
        unanchored: Array.from(document.querySelectorAll('a[href^="#"]'))
            .map(a => a.getAttribute('href'))
            .filter(h => h.length > 1 && !document.getElementById(decodeURIComponent(h.slice(1)))),
    })""")
    for href in sorted(set(found["unanchored"])):
        problems.append(f"{page}: link {href!r}: no such anchor on the page")
    problems.extend(f"{page}: {e}" for e in errors)
    if not found["title"] or found["text"] < 20:
        problems.append(f"{page}: renders no content (title {found['title']!r}, "
                        f"{found['text']} characters)")
    for image in found["images"]:
        if not image["ok"]:
            problems.append(f"{page}: broken image {image['src']!r}")
    for error in found["errors"]:
        problems.append(f"{page}: the code raised an error: {error[:200]}")
    if WITH_TOC.match(page) and found["tocNav"] and found["toc"] == 0:
        problems.append(f"{page}: the 'On this page' list is empty")
    if page.startswith("reference/") and re.search(r"\b(auto)?plot\(", found["examples"]) \
            and not found["exampleImages"]:
        problems.append(f"{page}: its examples draw, but the page shows no image")
    return check_links(site, page, base + page, found["hrefs"], problems)


def check_search(browser_page, base, problems):
    """The search box (fuse.js and autocomplete.js, served by the site) finds a function."""
    browser_page.goto(base + "index.html", wait_until="load")
    box = browser_page.locator("input#search-input")
    if not box.count():
        problems.append("index.html: no search box")
        return
    # the index is fetched when the box gets the focus, then each key searches
    box.focus()
    browser_page.wait_for_load_state("networkidle")
    box.press_sequentially("schedule_one_cycle", delay=20)
    try:
        browser_page.wait_for_selector(".aa-suggestion", timeout=5000)
    except Exception:  # noqa: BLE001 - playwright's TimeoutError
        problems.append("index.html: the search for 'schedule_one_cycle' shows no result")


def main(site="site", out="site-check", screenshots=None, search=True):
    """Checks the site; returns the exit status (1 when a problem was found)."""
    screenshots = SCREENSHOTS if screenshots is None else screenshots
    started = time.monotonic()
    site, out = Path(site).resolve(), Path(out)
    if not (site / "index.html").is_file():
        raise SystemExit(f"{site}/index.html is missing: build the site first (make site)")
    out.mkdir(parents=True, exist_ok=True)
    pages = sorted(p.relative_to(site).as_posix() for p in site.rglob("*.html"))
    server = serve(site)
    base = f"http://127.0.0.1:{server.server_address[1]}/"
    problems, external = [], 0
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM,
                                             args=["--no-sandbox", "--disable-gpu"])
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        tab = Tab(context, base)
        for page in pages:
            external += check_page(tab, site, page, base, problems)
            name = next((shot for shot, (path, _) in screenshots.items() if path == page), None)
            if name:
                tab.page.screenshot(path=str(out / name), full_page=screenshots[name][1])
        tab.errors = None
        if search:
            check_search(context.new_page(), base, problems)
        browser.close()
    server.shutdown()
    for name, (path, _) in screenshots.items():
        if path not in pages:
            problems.append(f"{path}: missing (wanted for the screenshot {name})")
    print(f"site-check: {len(pages)} pages, {external} links out of the site (not followed), "
          f"{len(problems)} problems, {time.monotonic() - started:.0f} s; screenshots in {out}/")
    for problem in problems:
        print("  " + problem)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
