"""The Markdown result files as standalone HTML pages, for the Snakemake report.

The report shows HTML and images inline but offers CSV and Markdown only as
downloads; the tables' Markdown (headings, paragraphs, pipe tables, bullet
lists, nothing else) converts in a few lines, so no Markdown library is needed.
"""

from __future__ import annotations

import html

STYLE = """
body { font-family: system-ui, sans-serif; font-size: 14px; margin: 1.5em; color: #1e293b; }
table { border-collapse: collapse; margin: 0.8em 0 1.6em; }
th, td { border-bottom: 1px solid #cbd5e1; padding: 0.25em 0.7em; text-align: right; white-space: nowrap; }
th:first-child, td:first-child, th:nth-child(2), td:nth-child(2), th:nth-child(3),
td:nth-child(3) { text-align: left; }
th { background: #f1f5f9; }
tr:hover td { background: #f8fafc; }
"""


def from_markdown(text: str, title: str) -> str:
    body, lines, i = [], text.splitlines(), 0
    while i < len(lines):
        line = lines[i].rstrip()
        if line.startswith("|"):
            rows = []
            while i < len(lines) and lines[i].startswith("|"):
                rows.append([c.strip() for c in lines[i].strip().strip("|").split("|")])
                i += 1
            body.append(_table(rows))
            continue
        if line.startswith("#"):
            level = len(line) - len(line.lstrip("#"))
            body.append(f"<h{level}>{html.escape(line[level:].strip())}</h{level}>")
        elif line.startswith("- "):
            items = []
            while i < len(lines) and lines[i].startswith("- "):
                items.append(f"<li>{html.escape(lines[i][2:])}</li>")
                i += 1
            body.append("<ul>" + "".join(items) + "</ul>")
            continue
        elif line:
            body.append(f"<p>{html.escape(line)}</p>")
        i += 1
    return (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<style>{STYLE}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n"
    )


def _table(rows: list[list[str]]) -> str:
    header, body = rows[0], [r for r in rows[1:] if not set("".join(r)) <= set("-: ")]
    head = "".join(f"<th>{html.escape(c)}</th>" for c in header)
    cells = "".join(
        "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in body
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{cells}</tbody></table>"
