"""The CSS and the script of the HTML report (``bench.report.html``), inline in the page.

The CSS makes the page readable on a phone: a viewport-wide column, tables that scroll
sideways inside their own box instead of widening the page, figures scaled to the width.
The script sorts a table by the column whose header is clicked (again: the other way):
numbers by value (a cell's ``data-v``, the raw figure behind "12.3 ± 0.4"), words in natural
order ("tg32" before "tg128"), n/a always last, ties in their present order.
"""

from __future__ import annotations

CSS = """
:root { --fg: #1f2328; --muted: #59636e; --line: #d1d9e0; --head: #f6f8fa; --link: #0969da; }
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; text-size-adjust: 100%; }
body { margin: 0; color: var(--fg); background: #fff;
  font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", sans-serif; }
main { max-width: 1280px; margin: 0 auto; padding: 1rem; }
h1 { font-size: 1.5rem; margin: .25rem 0; overflow-wrap: anywhere; }
h2 { font-size: 1.15rem; margin: 2rem 0 .5rem; padding-bottom: .2rem;
  border-bottom: 1px solid var(--line); }
a { color: var(--link); }
nav ul { display: flex; flex-wrap: wrap; gap: .2rem 1rem; margin: .5rem 0; padding: 0;
  list-style: none; }
.note, figcaption, .notes { color: var(--muted); font-size: .875rem; }
.notes { padding-left: 1.2rem; }
.scroll { overflow-x: auto; max-width: 100%; border: 1px solid var(--line); border-radius: 6px; }
.scroll:focus-visible { outline: 2px solid var(--link); }
table { border-collapse: collapse; font-size: .85rem; min-width: 100%; }
th, td { padding: .3rem .6rem; text-align: left; vertical-align: top; white-space: nowrap;
  border-bottom: 1px solid var(--line); }
th { background: var(--head); font-weight: 600; }
th.r, td.r { text-align: right; font-variant-numeric: tabular-nums; }
td.na { color: var(--muted); }
td.wrap { white-space: normal; min-width: 14rem; }
tbody tr:nth-child(even) { background: #fbfcfd; }
tbody tr:last-child td { border-bottom: 0; }
th button { all: unset; cursor: pointer; }
th button:focus-visible { outline: 2px solid var(--link); }
th button::after { content: " \\2195"; color: var(--muted); font-weight: 400; }
th[aria-sort=ascending] button::after { content: " \\25B2"; color: var(--fg); }
th[aria-sort=descending] button::after { content: " \\25BC"; color: var(--fg); }
code { font: .85em ui-monospace, SFMono-Regular, Menlo, Consolas, monospace;
  background: var(--head); padding: 0 .2rem; border-radius: 3px; overflow-wrap: anywhere; }
.label { display: inline-block; padding: 0 .45rem; border: 1px solid; border-radius: 1rem;
  font-size: .8em; font-weight: 600; white-space: nowrap; }
.label-simulated { background: #ddf4ff; border-color: #54aeff; color: #0a3069; }
.label-synthetic { background: #fbefff; border-color: #c297ff; color: #512a97; }
.label-throttled { background: #ffebe9; border-color: #ff8182; color: #82071e; }
.label-busy { background: #fff8c5; border-color: #d4a72c; color: #4d2d00; }
.label-failed { background: #82071e; border-color: #82071e; color: #fff; }
figure { margin: 1rem 0 2rem; }
figure svg { display: block; width: 100%; max-width: 1200px; height: auto; }
details summary { cursor: pointer; margin: .5rem 0; }
.samples li { overflow-wrap: anywhere; }
@media (max-width: 640px) {
  body { font-size: 14px; }
  main { padding: .5rem; }
  h1 { font-size: 1.2rem; }
  table { font-size: .8rem; }
}
"""

SCRIPT = """
"use strict";
(() => {
  const key = (td) => {
    if (td.hasAttribute("data-na")) return null;
    if (td.hasAttribute("data-v")) return Number(td.getAttribute("data-v"));
    return td.textContent.trim();
  };
  const order = (a, b) => {
    if (typeof a === "number" && typeof b === "number") return a - b;
    if (typeof a === "number") return -1;
    if (typeof b === "number") return 1;
    return a.localeCompare(b, undefined, { numeric: true, sensitivity: "base" });
  };
  for (const table of document.querySelectorAll("table.sortable")) {
    const heads = Array.from(table.tHead.rows[0].cells);
    heads.forEach((th, col) => {
      th.querySelector("button").addEventListener("click", () => {
        const up = th.getAttribute("aria-sort") !== "ascending";
        for (const h of heads) h.removeAttribute("aria-sort");
        th.setAttribute("aria-sort", up ? "ascending" : "descending");
        const body = table.tBodies[0];
        const rows = Array.from(body.rows, (tr, i) => [key(tr.cells[col]), i, tr]);
        rows.sort(([a, i], [b, j]) => {
          if (a === null || b === null) return (a === null) - (b === null) || i - j;
          return (up ? order(a, b) : order(b, a)) || i - j;
        });
        for (const [, , tr] of rows) body.appendChild(tr);
      });
    });
  }
})();
"""
