"""``report.html``: one self-contained page (inline CSS, JS and SVG; nothing is fetched).

The charts are drawn here as SVG; the two tables (images, and images × checks)
are built by a small script from the JSON embedded in the page, so sorting and
filtering work offline in any browser.
"""

from __future__ import annotations

import json
from html import escape
from typing import Any

from .jobs import ImageResult

#: How many checks the failure chart shows.
CHART_CHECKS = 12
VERDICT_COLOURS = {"pass": "#2e7d32", "fail": "#c62828", "error": "#ef6c00"}


def render_html(summary: dict[str, Any], results: list[ImageResult]) -> str:
    """The page for ``summary``; ``results`` (in the same order) add every check's finding to the table."""
    data = {"images": [_image(entry, result) for entry, result in zip(summary["images"], results)]}
    # With "<" escaped, no text in the data can end the script element or open a tag.
    embedded = json.dumps(data).replace("<", "\\u003c")
    title = f"imgtools batch: {summary['passed']}/{summary['total']} passed"
    meta = " · ".join(
        escape(str(part)) for part in (
            summary.get("manifest"), "profile " + ", ".join(summary.get("profiles") or ["?"]),
            summary.get("executor"), summary.get("started_at"),
            f"fail on {summary.get('fail_on')}", "interrupted: partial results" if summary.get("interrupted") else None,
        ) if part
    )
    return _PAGE.format(
        title=escape(title), meta=meta, cards=_cards(summary), fleet_bar=_fleet_bar(summary),
        failure_chart=_failure_chart(summary), data=embedded, style=_STYLE, script=_SCRIPT,
    )


def _image(entry: dict[str, Any], result: ImageResult) -> dict[str, Any]:
    """One image for the page's script: its summary row, and all its findings flagged failed or not."""
    failed = {f["id"] for f in entry["findings"]}
    return {
        **{key: entry[key] for key in ("name", "path", "profile", "verdict", "seconds", "top_failures")},
        "reason": entry["reason"] or "",
        "failed": len(failed),
        "findings": [
            {**{key: f.get(key) for key in ("id", "title", "severity", "status", "message", "remediation")},
             "failed": f["id"] in failed}
            for f in result.findings
        ],
    }


def _cards(summary: dict[str, Any]) -> str:
    cards = [("Images", summary["total"], "#37474f"), ("Passed", summary["passed"], VERDICT_COLOURS["pass"]),
             ("Failed", summary["failed"], VERDICT_COLOURS["fail"]), ("Errors", summary["errors"], VERDICT_COLOURS["error"])]
    return "".join(
        f'<div class="card" style="border-color:{colour}"><b style="color:{colour}">{value}</b><span>{label}</span></div>'
        for label, value, colour in cards
    )


def _fleet_bar(summary: dict[str, Any], width: int = 600, height: int = 22) -> str:
    total = summary["total"] or 1
    x = 0.0
    parts = []
    for verdict, key in (("pass", "passed"), ("fail", "failed"), ("error", "errors")):
        w = width * summary[key] / total
        if w:
            parts.append(f'<rect x="{x:.1f}" y="0" width="{w:.1f}" height="{height}" fill="{VERDICT_COLOURS[verdict]}">'
                         f'<title>{summary[key]} {verdict}</title></rect>')
        x += w
    return (f'<svg class="fleet" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
            f'aria-label="verdicts across the fleet">{"".join(parts)}</svg>')


def _failure_chart(summary: dict[str, Any]) -> str:
    rows = summary["check_failures"][:CHART_CHECKS]
    if not rows:
        return '<p class="none">No check failed on any image.</p>'
    label_w, bar_w, row_h = 330, 300, 24
    most = max(row["images"] for row in rows)
    total = summary["total"] or 1
    bars = []
    for i, row in enumerate(rows):
        y = i * row_h
        w = max(2.0, bar_w * row["images"] / most)
        label = row["id"] + (f" {row['title']}" if row.get("title") else "")
        short = label if len(label) <= 44 else label[:43] + "…"
        bars.append(
            f'<g><title>{escape(label)}: fails on {row["images"]} of {total} images</title>'
            f'<text x="0" y="{y + 16}">{escape(short)}</text>'
            f'<rect x="{label_w}" y="{y + 4}" width="{w:.1f}" height="{row_h - 8}" fill="#c62828"/>'
            f'<text x="{label_w + w + 6:.1f}" y="{y + 16}">{row["images"]}</text></g>'
        )
    height = row_h * len(rows)
    width = label_w + bar_w + 50
    return (f'<svg class="chart" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
            f'aria-label="most frequent failures">{"".join(bars)}</svg>')


_STYLE = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px auto;max-width:1280px;padding:0 16px;color:#212121;background:#fafafa}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px}
.meta{color:#616161;margin-bottom:16px}
.cards{display:flex;gap:12px;flex-wrap:wrap;margin-bottom:10px}
.card{background:#fff;border-left:5px solid;padding:8px 16px;min-width:110px;box-shadow:0 1px 2px #0002}
.card b{display:block;font-size:26px}.card span{color:#616161}
svg text{font-size:12px;fill:#212121}
.none{color:#2e7d32}
.controls{display:flex;gap:8px;margin:6px 0;flex-wrap:wrap}
.controls input{flex:1;min-width:220px;padding:5px 8px}.controls select{padding:4px}
table{border-collapse:collapse;width:100%;background:#fff;box-shadow:0 1px 2px #0002}
th,td{padding:6px 8px;border-bottom:1px solid #e0e0e0;text-align:left;vertical-align:top}
th{background:#eceff1;cursor:pointer;user-select:none;white-space:nowrap;position:sticky;top:0}
th[aria-sort=ascending]::after{content:" ▲"}th[aria-sort=descending]::after{content:" ▼"}
td.name{font-weight:600;min-width:9em;overflow-wrap:anywhere}
.sub{font-size:12px;font-weight:400;color:#546e7a;overflow-wrap:anywhere}
.verdict,.status{font-weight:600;text-transform:uppercase;font-size:12px}
.v-pass{color:#2e7d32}.v-fail{color:#c62828}.v-error{color:#ef6c00}
.s-fail,.s-error{color:#c62828}.s-waived{color:#6a1b9a}.s-skip{color:#757575}.s-pass{color:#2e7d32}
.sev-error{color:#c62828}.sev-warning{color:#ef6c00}.sev-info{color:#1565c0}
pre{white-space:pre-wrap;margin:0;font:12px/1.4 ui-monospace,monospace;background:#f5f5f5;padding:4px 6px}
.count{color:#616161;font-size:12px}
.num{white-space:nowrap;text-align:right}
"""

_SCRIPT = r"""
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("batch-data").textContent);
  // A cell holding text; "pre" keeps line breaks (commands), "sub" adds a second, smaller line.
  function cell(tr, value, cls, pre, sub) {
    var td = document.createElement("td");
    if (cls) td.className = cls;
    if (pre && value) { var p = document.createElement("pre"); p.textContent = value; td.appendChild(p); }
    else td.textContent = value;
    if (sub) { var s = document.createElement("div"); s.className = "sub"; s.textContent = sub; td.appendChild(s); }
    tr.appendChild(td);
  }
  // A table whose rows can be sorted by any column and filtered by text and by selects.
  function table(id, rows, columns, filters) {
    var el = document.getElementById(id), body = el.querySelector("tbody"), heads = el.querySelectorAll("th");
    var search = document.getElementById(id + "-search"), count = document.getElementById(id + "-count");
    var sortKey = null, ascending = true;
    function draw() {
      var needle = search.value.toLowerCase(), shown = rows.filter(function (row) {
        for (var i = 0; i < filters.length; i++) {
          var f = filters[i], v = document.getElementById(f.id).value;
          if (v && !f.accept(row, v)) return false;
        }
        return !needle || row.haystack.indexOf(needle) >= 0;
      });
      if (sortKey !== null) shown.sort(function (a, b) {
        var x = a.sort[sortKey], y = b.sort[sortKey];
        return (x < y ? -1 : x > y ? 1 : 0) * (ascending ? 1 : -1);
      });
      body.textContent = "";
      shown.forEach(function (row) { body.appendChild(row.tr); });
      count.textContent = shown.length + " of " + rows.length + " shown";
    }
    heads.forEach(function (th, i) {
      th.addEventListener("click", function () {
        ascending = sortKey === i ? !ascending : true; sortKey = i;
        heads.forEach(function (h) { h.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
        draw();
      });
    });
    rows.forEach(function (row) {
      row.tr = document.createElement("tr");
      columns(row).forEach(function (c) { cell(row.tr, c[0], c[1], c[2], c[3]); });
      Object.keys(row.attrs || {}).forEach(function (k) { row.tr.setAttribute(k, row.attrs[k]); });
    });
    [search].concat(filters.map(function (f) { return document.getElementById(f.id); })).forEach(function (input) {
      input.addEventListener("input", draw);
    });
    draw();
  }
  var rank = {error: 0, warning: 1, info: 2}, order = {fail: 0, error: 1, pass: 2};
  var imageRows = data.images.map(function (im) {
    return {
      im: im, attrs: {"data-image": im.name, "data-verdict": im.verdict},
      sort: [im.name, order[im.verdict], im.profile, -im.failed, im.top_failures.join(" "), im.reason, im.seconds],
      haystack: [im.name, im.path, im.profile, im.verdict, im.reason, im.top_failures.join(" ")].join(" ").toLowerCase()
    };
  });
  table("images", imageRows, function (row) {
    var im = row.im;
    return [[im.name, "name", false, im.path], [im.verdict, "verdict v-" + im.verdict], [im.profile],
            [String(im.failed)], [im.top_failures.join(", ")], [im.reason], [im.seconds.toFixed(1) + " s", "num"]];
  }, [{id: "images-verdict", accept: function (row, v) { return row.im.verdict === v; }}]);
  var findingRows = [];
  data.images.forEach(function (im) {
    im.findings.forEach(function (f) {
      var remedy = f.remediation || "";
      findingRows.push({
        im: im, f: f, remedy: remedy, attrs: {"data-finding": im.name + " " + f.id},
        sort: [im.name, f.id, rank[f.severity], f.status, f.message || "", remedy],
        haystack: [im.name, im.path, f.id, f.title, f.severity, f.status, f.message, remedy].join(" ").toLowerCase()
      });
    });
  });
  table("findings", findingRows, function (row) {
    var f = row.f;
    return [[row.im.name, "name"], [f.id, "name", false, f.title], [f.severity, "sev-" + f.severity],
            [f.status, "status s-" + f.status], [f.message || ""], [f.status === "fail" || f.status === "error" ? row.remedy : "", "", true]];
  }, [
    {id: "findings-status", accept: function (row, v) {
      return v === "failed" ? row.f.failed : row.f.status === v; }},
    {id: "findings-severity", accept: function (row, v) { return row.f.severity === v; }}
  ]);
  document.body.setAttribute("data-rendered", "yes");
})();
"""

_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>{style}</style></head>
<body>
<h1>{title}</h1>
<div class="meta">{meta}</div>
<div class="cards">{cards}</div>
{fleet_bar}
<h2>Most frequent failures</h2>
{failure_chart}
<h2>Images</h2>
<div class="controls"><input id="images-search" type="search" placeholder="Filter images: name, path, check id, reason…">
<select id="images-verdict"><option value="">every verdict</option><option value="pass">pass</option>
<option value="fail">fail</option><option value="error">error</option></select>
<span class="count" id="images-count"></span></div>
<table id="images"><thead><tr><th>Image</th><th>Verdict</th><th>Profile</th><th>Failed</th><th>Top failures</th>
<th>Reason</th><th>Time</th></tr></thead><tbody></tbody></table>
<h2>Checks by image</h2>
<div class="controls"><input id="findings-search" type="search" placeholder="Filter checks: image, check id, message…">
<select id="findings-status"><option value="failed" selected>failed (warning and above)</option>
<option value="">every status</option><option value="fail">fail (with info notes)</option><option value="error">error</option>
<option value="pass">pass</option><option value="waived">waived</option><option value="skip">skip</option></select>
<select id="findings-severity"><option value="">every severity</option><option value="error">error</option>
<option value="warning">warning</option><option value="info">info</option></select>
<span class="count" id="findings-count"></span></div>
<table id="findings"><thead><tr><th>Image</th><th>Check</th><th>Severity</th><th>Status</th><th>Message</th>
<th>Remediation</th></tr></thead><tbody></tbody></table>
<noscript><p>The tables need JavaScript; summary.json and the per-image JSON files hold the same data.</p></noscript>
<script type="application/json" id="batch-data">{data}</script>
<script>{script}</script>
</body></html>
"""
