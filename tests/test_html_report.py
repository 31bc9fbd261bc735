"""``pibench report RUN... --html OUT.html``: one self-contained page, opened in headless
Chromium (tests/chromium.py: the DevTools protocol over a pipe).

The runs are real mock runs on the virtual clock: one with a power meter and a backend that
fails at load (a FAILED row, a power plot), one plain. Then one record of the first run is
made hostile, as a cases.jsonl written by hand or by another tool could be (the config refuses
such names): its model name and case id hold ``<script>`` and an ``<img onerror>``, and it
carries the labels throttled, busy host and synthetic weights beside simulated.
"""

from __future__ import annotations

import html
import json
import os
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from bench.report import markdown
from bench.report.export import FLAT
from bench.report.htmlkit import Html, code_spans, el
from bench.report.rows import load_runs
from tests import chromium

pytest.importorskip("matplotlib")

EVIL = "<script>console.error('xss')</script><img src=x onerror=\"console.error(1)\">"
EVIL_TITLE = "<script>console.error('title')</script> & \"quoted\""
PROFILE = """
name: htmltest
device: "simulated <b>board</b> & co"
source: test profile
jitter: 0
power: {idle_w: 1.0, busy_w: 2.0, covers: test}
models:
  m1: {gen_tps: 40.0, prompt_tps: 400.0, ttft_s: 0.05, load_s: 0.01}
  m2: {gen_tps: 20.0, prompt_tps: 200.0, ttft_s: 0.10, load_s: 0.01}
"""
CONFIG = """
name: {name}
clock: virtual
repetitions: 3
warmup: 1
models:
  - {{name: m1, params_b: 1.0}}
  - {{name: m2, params_b: 2.0}}
backends:
  - {{name: cpu, type: mock, options: {{profile: {profile}}}}}
  - {{name: broken, type: mock, options: {{profile: {profile}, fail: {{at: load, models: [m2]}}}}}}
workloads:
  - {{name: pp40-tg20, kind: throughput, prompt_tokens: 40, gen_tokens: 20}}
  - {{name: pp80-tg30, kind: throughput, prompt_tokens: 80, gen_tokens: 30}}
"""
LABELS = ["throttled", "busy host", "synthetic weights: speed only"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> list[Path]:
    """Two run folders (the first with a meter, a failed case and the hostile record)."""
    from bench.runner.session import start_run

    tmp = tmp_path_factory.mktemp("html-runs")
    profile = tmp / "profile.yaml"
    profile.write_text(PROFILE)
    out = []
    for name, meters in (("metered", "meters:\n  - {type: mock, rate_hz: 20}\n"), ("plain", "")):
        cfg = tmp / f"{name}.yaml"
        cfg.write_text(CONFIG.format(name=name, profile=profile) + meters)
        result = start_run(cfg, output_dir=tmp / name, quiet=True)
        assert result.exit_code == 1  # the broken backend's case failed, the others ran
        out.append(result.run_dir.path)
    cases = out[0] / "cases.jsonl"
    lines = []
    for line in cases.read_text().splitlines():
        record = json.loads(line)
        if record["case_id"] == "m1/cpu/pp40-tg20":
            record["model"]["name"] = EVIL
            record["case_id"] = f"{EVIL}/cpu/pp40-tg20"
            record["labels"] += LABELS
        lines.append(json.dumps(record))
    cases.write_text("\n".join(lines) + "\n")
    return out


@pytest.fixture(scope="module")
def page_file(runs, tmp_path_factory) -> Path:
    from bench.cli.main import main

    out = tmp_path_factory.mktemp("html") / "report.html"
    code = main(["report", *map(str, runs), "--no-write", "--title", EVIL_TITLE,
                 "--html", str(out)])
    assert code == 0 and out.exists()
    return out


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _parse(text: str) -> _Tags:
    p = _Tags()
    p.feed(text)
    return p


def test_every_value_is_escaped(page_file):
    """The hostile model name, case id, title and profile device string are text, never
    markup: one <script> (the page's own), no <img>, no onerror attribute, no <b>."""
    text = page_file.read_text()
    tags = _parse(text)
    names = [t for t, _ in tags.tags]
    assert names.count("script") == 1 and "img" not in names and "b" not in names
    assert not any(k.startswith("on") for _, attrs in tags.tags for k in attrs)
    joined = "".join(tags.text)
    assert EVIL in joined and EVIL_TITLE in joined and "simulated <b>board</b> & co" in joined
    assert "&lt;script&gt;console.error(&#x27;xss&#x27;)" in text
    # the Content-Security-Policy lets only the page's own script run, whatever the markup
    csp = next(a["content"] for t, a in tags.tags if a.get("http-equiv") ==
               "Content-Security-Policy")
    assert csp is not None and "default-src 'none'" in csp and "script-src 'sha256-" in csp
    assert "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]


def test_loads_nothing_from_elsewhere_and_ids_are_unique(page_file):
    """No src/href out of the file (only #anchors and data: URIs), no url() to anything but
    an id of the page, and every id once (the figures' SVG ids are prefixed per figure)."""
    text = page_file.read_text()
    tags = _parse(text)
    refs = [v for _, a in tags.tags for k, v in a.items() if k in ("src", "href", "xlink:href")]
    assert refs and all(v and v.startswith(("#", "data:")) for v in refs)
    ids = [a["id"] for _, a in tags.tags if a.get("id")]
    assert len(ids) == len(set(ids)) > 100
    urls = re.findall(r"url\(([^)]*)\)", text)
    assert urls and all(u.startswith("#") and u[1:] in set(ids) for u in urls)
    assert "http://" not in text.replace("http://www.w3.org/", "") and "https://" not in text


def test_tables_are_the_markdown_column_specs(page_file, runs):
    """The llama-bench-style table holds exactly report.md's headers and cells (the same
    ``Column`` specs), and the last table every column of report.csv."""
    records = [r for _, recs in load_runs([str(p) for p in runs]) for r in recs]
    tables = _table_cells(page_file.read_text())
    header, *rows = tables["bench"]
    # two runs: the run column first (bench.report.merged), then the llama-bench columns
    assert header == ["run", *(c.header for c in markdown.BENCH)]
    assert header == [c.header for c in markdown.bench_columns(records)]
    assert rows == markdown.bench_rows(records)
    assert tables["all"][0] == [c.name for c in FLAT] and len(tables["all"]) == len(records) + 1
    cmp_header, *cmp_rows = tables["compare"]
    assert cmp_header == ["run", *(c.header for c in markdown.COMPARISON)]
    assert len(cmp_rows) == len([r for r in records if not r.get("mixed")])
    assert tables["system"][0] == ["fact", *(p.name for p in runs)]


def _table_cells(text: str) -> dict[str, list[list[str]]]:
    """{table id: [header cells, *row cells]} as text, from the HTML."""
    out: dict[str, list[list[str]]] = {}

    class Cells(HTMLParser):
        table: str | None = None
        cell: list[str] | None = None

        def handle_starttag(self, tag, attrs):
            a = dict(attrs)
            if tag == "table":
                self.table = a.get("id")
                out[self.table] = []
            elif tag == "tr" and self.table:
                out[self.table].append([])
            elif tag in ("td", "th") and self.table:
                self.cell = []

        def handle_endtag(self, tag):
            if tag in ("td", "th") and self.table and self.cell is not None:
                out[self.table][-1].append("".join(self.cell))
                self.cell = None
            elif tag == "table":
                self.table = None

        def handle_data(self, data):
            if self.cell is not None:
                self.cell.append(data)

    Cells().feed(text)
    return out


def test_never_overwrites_and_says_where_it_wrote(runs, tmp_path, cli):
    out = tmp_path / "r.html"
    code, stdout, _ = cli("report", runs[1], "--no-write", "--html", out)
    assert code == 0 and f"written: {out}" in stdout
    before = out.read_bytes()
    code, stdout, _ = cli("report", runs[1], "--no-write", "--html", out)
    assert code == 0 and f"written: {tmp_path / 'r-2.html'}" in stdout
    assert out.read_bytes() == before and (tmp_path / "r-2.html").exists()


def test_without_matplotlib_the_page_says_why_it_has_no_figure(runs, tmp_path, cli,
                                                                 monkeypatch):
    from bench import plots
    from bench.report import html_figures

    def missing():
        raise plots.PlotsUnavailable(plots.MISSING)

    monkeypatch.setattr(html_figures, "require_matplotlib", missing)
    code, stdout, _ = cli("report", runs[1], "--no-write", "--html", tmp_path / "n.html")
    text = (tmp_path / "n.html").read_text()
    assert code == 0 and f"note: no figures: {plots.MISSING}" in stdout
    assert "<figure" not in text and html.escape(f"no figures: {plots.MISSING}") in text
    assert 'id="bench"' in text


def test_htmlkit_escapes_text_and_attributes_and_keeps_markup():
    assert el("td", "<a>&", title='x" onclick="y') == (
        '<td title="x&quot; onclick=&quot;y">&lt;a&gt;&amp;</td>')
    assert el("p", el("b", "1"), Html.trusted("<i>2</i>"), None, 3) == "<p><b>1</b><i>2</i>3</p>"
    assert el("th", "h", data_na=True, data_v=None) == "<th data-na>h</th>"
    assert code_spans("run `a<b` now") == "run <code>a&lt;b</code> now"
    assert code_spans("one ` tick <") == "one ` tick &lt;"
    with pytest.raises(ValueError):
        el("td onclick=x")


# ---- in headless Chromium --------------------------------------------------------------


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    binary, why = chromium.find_or_install()
    if binary is None:
        if os.geteuid() != 0:
            pytest.skip(why)
        pytest.fail(why)  # as root (CI) the script installs it: missing is a failure
    with chromium.Browser(binary, tmp_path_factory.mktemp("chromium")) as b:
        yield b


FIGURES = ("gen_tps", "prompt_tps", "ttft", "power", "timeline-")
TABLES = ("bench", "compare", "system", "all")


@pytest.mark.timeout(1500)  # as root without chromium, the fixture installs it from apt first
def test_the_page_in_chromium(browser, page_file, tmp_path):
    """Loads with no console error and no request but the file itself; every table and
    figure is there and drawn; a click sorts a column (n/a last both ways); the hostile
    markup did not run; a whole-page screenshot is written."""
    page = browser.page()
    url = page_file.as_uri()
    page.open(url, 1280, 900)
    assert page.errors() == []
    requested = [e["request"]["url"] for e in page.events("Network.requestWillBeSent")]
    assert requested == [url]
    assert page.js("document.querySelectorAll('script').length") == 1
    assert page.js("document.querySelectorAll('img, b').length") == 0
    assert page.js("document.title") == EVIL_TITLE
    boxes = page.js("""Object.fromEntries(Array.from(document.querySelectorAll('table[id]'),
        t => [t.id, [t.rows.length, t.getBoundingClientRect().height]]))""")
    for tid in TABLES:
        rows, height = boxes[tid]
        assert rows >= 2 and (height > 20 or tid == "all"), (tid, boxes[tid])  # "all" folded
    figures = page.js("""Array.from(document.querySelectorAll('figure'), f => {
        const r = f.querySelector('svg').getBoundingClientRect();
        return [f.id, r.width, r.height]; })""")
    stems = [fid.split("-", 1)[1] for fid, _, _ in figures]
    assert [s for s in stems if not s.startswith(("timeline-", "over-time-"))] == list(
        FIGURES[:4])
    # the board over the run's time: drawn for the run with a meter (bench.plots.overtime)
    assert [s for s in stems if s.startswith("over-time-")] == ["over-time-metered"]
    assert sum(s.startswith("timeline-") for s in stems) == 2  # one per run
    assert all(w > 800 and h > 300 for _, w, h in figures), figures
    badges = page.js("Array.from(document.querySelectorAll('#s-legend .label'), "
                     "b => b.textContent)")
    assert set(badges) == {"simulated", "throttled", "busy host",
                           "synthetic weights: speed only"}
    assert page.js(f"Array.from(document.querySelectorAll('#bench td')).some("
                   f"td => td.textContent === {json.dumps(EVIL)})")

    column = "Array.from(document.querySelectorAll('#bench tbody tr'), tr => tr.cells[8])"
    values = f"{column}.map(td => td.hasAttribute('data-na') ? null : Number(td.dataset.v))"
    header = "document.querySelectorAll('#bench thead th')[8]"  # after the run column
    assert page.js(f"{header}.textContent") == "t/s median (min–max)"
    page.js(f"{header}.querySelector('button').click()")
    up = page.js(values)
    numbers = [v for v in up if v is not None]
    assert len(numbers) >= 4 and None in up
    assert up == sorted(numbers) + [None] * (len(up) - len(numbers))
    assert page.js(f"{header}.getAttribute('aria-sort')") == "ascending"
    page.js(f"{header}.querySelector('button').click()")
    down = page.js(values)
    assert down == sorted(numbers, reverse=True) + [None] * (len(up) - len(numbers))
    assert page.errors() == []

    shot = tmp_path / "report.png"
    width, height = page.screenshot(shot)
    assert width == 1280 and height > 4000 and shot.stat().st_size > 150_000, (
        width, height, shot.stat().st_size)


@pytest.mark.timeout(1500)
def test_the_page_on_a_phone(browser, page_file, tmp_path):
    """390 px wide (a phone): the page itself never scrolls sideways; the wide tables scroll
    in their own box; the figures fit the width."""
    page = browser.page()
    page.open(page_file.as_uri(), 390, 844, mobile=True)
    assert page.errors() == []
    assert page.js("document.documentElement.scrollWidth") <= 390
    box = page.js("(() => { const d = document.querySelector('#bench').parentElement; "
                  "return [d.clientWidth, d.scrollWidth]; })()")
    assert box[0] <= 390 < box[1]
    widths = page.js("Array.from(document.querySelectorAll('figure svg'), "
                     "s => s.getBoundingClientRect().width)")
    assert widths and all(200 < w <= 390 for w in widths), widths
    shot = tmp_path / "phone.png"
    assert page.screenshot(shot, full_page=False) == (390, 844)


def test_the_mixed_table_is_report_md_s_with_its_notes():
    """A mixed case (hand-made ``run_mixed`` results, as in test_mixed_report): the page's
    mixed table has report.md's headers and cells, and the notes under it."""
    from bench.report.html import table_html, tables
    from bench.vision.report import MIXED, render_mixed_table
    from tests.test_mixed_report import result

    mixed = [result("vision-npu+llm-cpu"),
             result("<b>p</b>", simulated={"vision": True, "llm": False}, llm_device=None)]
    found = tables([{"mixed": m} for m in mixed])
    assert [t.id for t in found] == ["mixed"]
    text = table_html(found[0])
    header, *rows = _table_cells(text)["mixed"]
    assert header == [c.header for c in MIXED]
    md = [line for line in render_mixed_table(mixed).splitlines() if line.startswith("| ")]
    assert rows == [[c.strip() for c in line.strip("|").split("|")] for line in md[1:]]
    assert "&lt;b&gt;p&lt;/b&gt;" in text and "<b>" not in text
    assert "Rows marked simulated come from mock devices" in text and "LLM unknown" in text


def test_an_unwritable_place_is_one_line_and_exit_2(runs, tmp_path, cli):
    (tmp_path / "file").write_text("not a folder")
    code, _, err = cli("report", runs[1], "--no-write", "--html", tmp_path / "file" / "r.html")
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith("pibench: error: cannot write r.html in ") and "file" in err
