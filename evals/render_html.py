"""report.html: one self-contained page (inline CSS and SVG, no scripts, no external assets)."""
from __future__ import annotations

from html import escape
from typing import Any

from evals.render_md import fmt
from evals.schema import METRIC_NAMES

MAX_FAILURES = 1000
_CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px;color:#1d2433;max-width:1200px}
h1{font-size:22px}h2{font-size:17px;margin-top:28px}
table{border-collapse:collapse;margin:8px 0}th,td{border:1px solid #d5d9e0;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f2f4f7}.ok{color:#17733a;font-weight:600}.bad{color:#b42318;font-weight:600}
.cards{display:flex;flex-wrap:wrap;gap:10px}.card{border:1px solid #d5d9e0;border-radius:6px;padding:8px 12px;min-width:140px}
.card b{display:block;font-size:20px}.muted{color:#667085}td.why{max-width:420px}td.reply{max-width:360px;color:#475467}
svg text{font-family:inherit}
"""


def _e(value: Any) -> str:
    return escape(str(value), quote=True)


def bar_chart(values: dict[str, float | None], title: str, width: int = 720) -> str:
    """Horizontal bars, one per label, value in [0, 1]."""
    row, left, right = 22, 170, 60
    height = row * max(len(values), 1) + 30
    plot = width - left - right
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
           f'aria-label="{_e(title)}" class="chart chart-by-tag">']
    out.append(f'<text x="0" y="14" font-size="13" font-weight="600">{_e(title)}</text>')
    for i, (label, value) in enumerate(values.items()):
        y = 24 + i * row
        out.append(f'<text x="{left - 6}" y="{y + 14}" font-size="12" text-anchor="end">{_e(label[:26])}</text>')
        out.append(f'<rect x="{left}" y="{y + 3}" width="{plot}" height="{row - 8}" fill="#eef0f4"/>')
        if value is not None:
            color = "#2e7d4f" if value >= 0.9 else ("#d4a017" if value >= 0.7 else "#c0392b")
            out.append(f'<rect x="{left}" y="{y + 3}" width="{plot * max(0.0, min(1.0, value)):.1f}" '
                       f'height="{row - 8}" fill="{color}"><title>{_e(label)}: {value:.3f}</title></rect>')
        out.append(f'<text x="{left + plot + 6}" y="{y + 14}" font-size="12">{_e(fmt(value, "rate"))}</text>')
    out.append("</svg>")
    return "".join(out)


def confusion_chart(matrix: dict[str, dict[str, int]], title: str) -> str:
    """Expected action (rows) x actual action (columns); darker = more turns; diagonal in green."""
    rows = list(matrix)
    cols = sorted({a for r in matrix.values() for a in r})
    cell, left, top = 56, 190, 110
    width, height = left + cell * max(len(cols), 1) + 20, top + cell * max(len(rows), 1) + 20
    peak = max((n for r in matrix.values() for n in r.values()), default=1) or 1
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
           f'aria-label="{_e(title)}" class="chart chart-confusion">']
    out.append(f'<text x="0" y="14" font-size="13" font-weight="600">{_e(title)}</text>')
    out.append(f'<text x="{left}" y="32" font-size="11" fill="#667085">actual action &#8594;</text>')
    out.append(f'<text x="0" y="{top - 6}" font-size="11" fill="#667085">expected &#8595;</text>')
    for j, col in enumerate(cols):
        x = left + j * cell + cell / 2
        out.append(f'<text transform="translate({x:.0f},{top - 8}) rotate(-40)" font-size="11">{_e(col)}</text>')
    for i, row in enumerate(rows):
        y = top + i * cell
        out.append(f'<text x="{left - 6}" y="{y + cell / 2 + 4:.0f}" font-size="11" text-anchor="end">{_e(row[:30])}</text>')
        expected = set(row.split("|"))
        for j, col in enumerate(cols):
            n = matrix[row].get(col, 0)
            shade = n / peak
            hit = col in expected
            base = (46, 125, 79) if hit else (192, 57, 43)
            fill = "#f7f8fa" if n == 0 else "rgb({},{},{})".format(
                *(int(255 - (255 - c) * (0.25 + 0.75 * shade)) for c in base))
            x = left + j * cell
            out.append(f'<rect x="{x}" y="{y}" width="{cell - 2}" height="{cell - 2}" fill="{fill}">'
                       f'<title>expected {_e(row)}, got {_e(col)}: {n}</title></rect>')
            if n:
                color = "#fff" if shade > 0.5 else "#1d2433"
                out.append(f'<text x="{x + cell / 2 - 1:.0f}" y="{y + cell / 2 + 4:.0f}" font-size="12" '
                           f'text-anchor="middle" fill="{color}">{n}</text>')
    out.append("</svg>")
    return "".join(out)


def histogram_chart(hist: dict[str, list[float]], title: str, width: int = 720, height: int = 220) -> str:
    edges, counts = hist.get("edges_ms", []), hist.get("counts", [])
    left, bottom, top = 50, 40, 26
    plot_w, plot_h = width - left - 20, height - bottom - top
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
           f'aria-label="{_e(title)}" class="chart chart-latency">']
    out.append(f'<text x="0" y="14" font-size="13" font-weight="600">{_e(title)}</text>')
    if counts:
        peak = max(counts) or 1
        bar_w = plot_w / len(counts)
        for i, n in enumerate(counts):
            h = plot_h * n / peak
            x = left + i * bar_w
            out.append(f'<rect x="{x:.1f}" y="{top + plot_h - h:.1f}" width="{bar_w - 2:.1f}" height="{h:.1f}" '
                       f'fill="#3b6fb6"><title>{edges[i]:.0f}-{edges[i + 1]:.0f} ms: {n} turns</title></rect>')
        for i in range(0, len(edges), max(1, len(edges) // 6)):
            x = left + i * bar_w
            out.append(f'<text x="{x:.0f}" y="{height - bottom + 16}" font-size="11" text-anchor="middle">'
                       f'{edges[i]:.0f}</text>')
        out.append(f'<text x="{left + plot_w / 2:.0f}" y="{height - 6}" font-size="11" text-anchor="middle" '
                   f'fill="#667085">engine time per turn (ms)</text>')
        out.append(f'<text x="{left - 8}" y="{top + 10}" font-size="11" text-anchor="end">{peak}</text>')
        out.append(f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" stroke="#98a2b3"/>')
    else:
        out.append(f'<text x="{left}" y="{top + 20}" font-size="12">no turns timed</text>')
    out.append("</svg>")
    return "".join(out)


def to_html(report: dict[str, Any]) -> str:
    m = report["metrics"]
    parts = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
             "<title>Concierge eval report</title>", f"<style>{_CSS}</style></head><body>",
             "<h1>Concierge eval report</h1>"]
    passed = report.get("passed")
    verdict = '<span class="ok">all thresholds met</span>' if passed else '<span class="bad">a threshold was missed</span>'
    kb = report.get("kb", {})
    parts.append(f'<p class="muted">{report["cases"]} cases, {report["turns_scored"]} scored turns, repeat '
                 f'{report.get("repeat", 1)} &middot; KB {_e(kb.get("path", ""))} ({kb.get("documents", 0)} documents) '
                 f'&middot; composer {_e(report.get("llm", ""))} &middot; grounding checker '
                 f'{_e(report.get("grounding_checker", ""))} &middot; {_e(report.get("generated_at", ""))}</p>')
    parts.append(f"<p>{verdict if report.get('thresholds') else 'no thresholds given'}</p>")
    parts.append('<div class="cards">')
    for name in METRIC_NAMES:
        if name in m:
            parts.append(f'<div class="card"><span class="muted">{_e(name)}</span><b>{_e(fmt(m[name], name))}</b></div>')
    parts.append("</div>")

    gates = report.get("thresholds", {})
    if gates:
        parts.append("<h2>Thresholds</h2><table><tr><th>gate</th><th>want</th><th>got</th><th>ok</th></tr>")
        for key, g in gates.items():
            metric = key.split("[")[0]
            op = "&le;" if g.get("direction") == "max" else "&ge;"
            ok = '<span class="ok">yes</span>' if g["ok"] else '<span class="bad">no</span>'
            parts.append(f"<tr><td>{_e(key)}</td><td>{op} {_e(fmt(g['want'], metric))}</td>"
                         f"<td>{_e(fmt(g['got'], metric))}</td><td>{ok}</td></tr>")
        parts.append("</table>")

    parts.append("<h2>Charts</h2>")
    tag_acc = {tag: v.get("action_accuracy") for tag, v in report.get("by_tag", {}).items()}
    parts.append(bar_chart(tag_acc or {"(no tags)": m.get("action_accuracy")}, "Action accuracy by tag"))
    parts.append("<br>")
    parts.append(confusion_chart(report.get("confusion", {}), "Expected vs actual action (scored turns)"))
    parts.append("<br>")
    parts.append(histogram_chart(report.get("latency_histogram", {}), "Latency per turn"))

    by_tag = report.get("by_tag", {})
    if by_tag:
        cols = ["action_accuracy", "answer_accuracy", "escalation_precision", "escalation_recall",
                "citation_hit_rate", "case_pass_rate"]
        parts.append("<h2>By tag</h2><table><tr><th>tag</th><th>cases</th>"
                     + "".join(f"<th>{_e(c)}</th>" for c in cols) + "</tr>")
        for tag, v in by_tag.items():
            parts.append(f"<tr><td>{_e(tag)}</td><td>{v.get('cases', '')}</td>"
                         + "".join(f"<td>{_e(fmt(v.get(c), c))}</td>" for c in cols) + "</tr>")
        parts.append("</table>")

    cmp = report.get("comparison")
    if cmp:
        parts.append("<h2>Compared with the previous report</h2><table><tr><th>metric</th><th>old</th>"
                     "<th>new</th><th>delta</th></tr>")
        for name, d in cmp["metrics"].items():
            cls = "" if d.get("better") is None else (' class="ok"' if d["better"] else ' class="bad"')
            delta = "" if d["delta"] is None else f"{d['delta']:+.4g}"
            parts.append(f"<tr><td>{_e(name)}</td><td>{_e(fmt(d['old'], name))}</td><td>{_e(fmt(d['new'], name))}</td>"
                         f"<td{cls}>{_e(delta)}</td></tr>")
        parts.append("</table>")
        if cmp["pass_to_fail"]:
            parts.append("<p class=\"bad\">pass &#8594; fail: "
                         + ", ".join(_e(c["case"]) for c in cmp["pass_to_fail"]) + "</p>")

    failures = report.get("failures", [])
    parts.append(f"<h2>Failures ({len(failures)})</h2>")
    if failures:
        parts.append('<table class="failures"><tr><th>suite</th><th>case</th><th>turn</th><th>expected</th>'
                     "<th>got</th><th>why</th><th>reply</th></tr>")
        for f in failures[:MAX_FAILURES]:
            expected = "; ".join(f"{k}: {v}" for k, v in f["expected"].items())
            got = f["got"]
            got_txt = f"{got.get('action')} {got.get('reasons') or ''} {got.get('citations') or ''}"
            parts.append(f"<tr><td>{_e(f.get('suite', ''))}</td><td>{_e(f['case'])}</td><td>{f['turn']}</td>"
                         f"<td>{_e(expected)}</td><td>{_e(got_txt)}</td><td class=\"why\">{_e(f['why'])}</td>"
                         f"<td class=\"reply\">{_e(got.get('reply', ''))}</td></tr>")
        parts.append("</table>")
        if len(failures) > MAX_FAILURES:
            parts.append(f"<p>... and {len(failures) - MAX_FAILURES} more in report.json</p>")
    else:
        parts.append("<p>None.</p>")
    parts.append("</body></html>")
    return "\n".join(parts)
