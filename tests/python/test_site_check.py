"""The site check (tools/site/check.py) finds what it is there to find.

`make site-check` passing on the real site says nothing unless the check fails on a
broken page: here it runs over a small site with one fault per page (and one page
without fault) in headless Chromium, and must name each fault and only those.
"""

import contextlib
import importlib.util
import io
import shutil
from pathlib import Path

import pytest

pytestmark = [pytest.mark.backend_independent, pytest.mark.tooling, pytest.mark.subprocess]

CHECK = Path(__file__).resolve().parents[2] / "tools" / "site" / "check.py"
pytest.importorskip("playwright.sync_api")
if not Path("/usr/bin/chromium").exists():
    pytest.skip("Debian's chromium is not installed", allow_module_level=True)

spec = importlib.util.spec_from_file_location("site_check", CHECK)
site_check = importlib.util.module_from_spec(spec)
spec.loader.exec_module(site_check)

# a 1x1 PNG
PIXEL = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d00000000"
    "49454e44ae426082")


def page(title, body, head=""):
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{title}</title>{head}"
            f"</head><body><main><h1>{title}</h1>{body}</main></body></html>")


GOOD = ("<p>A page with everything in order, long enough to count as content.</p>"
        "<img src='pixel.png' alt=''><a href='index.html#there'>a link</a><p id='there'>x</p>"
        "<a href='https://keras.io/'>out of the site, not followed</a>")

PAGES = {
    "index.html": page("Home", GOOD),
    "missing-link.html": page("Missing link", GOOD + "<a href='nowhere.html'>gone</a>"),
    "missing-anchor.html": page("Missing anchor", GOOD + "<a href='index.html#nothing'>a</a>"),
    "local-anchor.html": page("Local anchor", GOOD + "<a href='#not-here'>a</a>"),
    "broken-image.html": page("Broken image", GOOD + "<img src='nothing.png' alt=''>"),
    "script-error.html": page("Script error", GOOD + "<script>null.boom();</script>"),
    "outside.html": page("Outside", GOOD,
                         head="<script src='https://cdn.example.org/lib.js'></script>"),
    "example-error.html": page(
        "Example error", GOOD + "<pre><code><span class='r-err co'><span class='r-pr'>#&gt;"
        "</span> <span class='error'>Error in</span> f(): bad</span></code></pre>"),
    "empty.html": "<!doctype html><html><head><title>Empty</title></head><body></body></html>",
    "reference/draws.html": page(
        "Draws", "<p>An example that draws, and no picture of it on the page.</p>"
        "<div id='ref-examples'><pre>plot(schedule_one_cycle(0.01, 100))</pre></div>"),
    "redirect.html": "<meta http-equiv=\"refresh\" content=\"0; url=./gone.html\"/>",
}


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    site = tmp_path_factory.mktemp("site")
    for name, html in PAGES.items():
        (site / name).parent.mkdir(parents=True, exist_ok=True)
        (site / name).write_text(html)
    (site / "pixel.png").write_bytes(PIXEL)
    out = tmp_path_factory.mktemp("shots")
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        status = site_check.main(site, out, screenshots={"home.png": ("index.html", False)},
                                 search=False)
    shutil.rmtree(site)
    return status, printed.getvalue(), out


def problems_of(text, name):
    return [line.strip() for line in text.splitlines() if line.strip().startswith(name + ":")]


def test_a_faulty_site_fails(report):
    status, text, _ = report
    assert status == 1


def test_a_page_without_fault_passes_and_is_photographed(report):
    _, text, out = report
    assert problems_of(text, "index.html") == []
    assert (out / "home.png").stat().st_size > 1000
    # eight pages link to keras.io once each: counted, not followed (offline)
    assert "8 links out of the site (not followed)" in text


@pytest.mark.parametrize("name, expected", [
    ("missing-link.html", "link 'nowhere.html' leads to a missing file"),
    ("missing-anchor.html", "link 'index.html#nothing': no #nothing on that page"),
    ("local-anchor.html", "link '#not-here': no such anchor on the page"),
    ("broken-image.html", "broken image 'nothing.png'"),
    ("script-error.html", "script error"),
    ("outside.html", "loads https://cdn.example.org/lib.js from outside the site"),
    ("example-error.html", "the code raised an error: #> Error in f(): bad"),
    ("empty.html", "renders no content"),
    ("reference/draws.html", "its examples draw, but the page shows no image"),
    ("redirect.html", "redirects to './gone.html', which is missing"),
])
def test_each_fault_is_named_on_its_page(report, name, expected):
    _, text, _ = report
    found = problems_of(text, name)
    assert any(expected in problem for problem in found), (expected, found)
    # and nothing else is blamed on it, beyond what the fault itself causes
    if name not in ("outside.html", "broken-image.html"):
        assert len(found) == 1, found
