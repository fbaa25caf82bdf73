"""The briefing pack page's style sheet: inline in ``index.html``, so the page needs no other file."""

CSS = """
:root { --text: #222; --muted: #555; --rule: #d9d9d9; --better: #005a8c; --worse: #a34400; }
* { box-sizing: border-box; }
body { margin: 0; font-family: system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", Arial, sans-serif;
       color: var(--text); background: #fff; line-height: 1.45; }
main { max-width: 1180px; margin: 0 auto; padding: 24px 28px 64px; }
h1 { font-size: 1.7rem; margin: 0 0 4px; }
h2 { font-size: 1.3rem; margin: 36px 0 10px; padding-bottom: 4px; border-bottom: 2px solid var(--text); }
h3 { font-size: 1.05rem; margin: 20px 0 6px; }
p.sub, .small { color: var(--muted); font-size: 0.88rem; }
p.question { font-size: 1.15rem; font-weight: 600; }
nav { margin: 14px 0; font-size: 0.95rem; }
nav a, a { color: #0b5394; }
.warning { background: #fff4e0; border-left: 5px solid #e69f00; padding: 10px 14px; }
.swatch { display: inline-block; width: 0.85em; height: 0.85em; margin-right: 0.4em; border-radius: 2px;
          vertical-align: -0.05em; }
.tag { font-size: 0.75rem; font-weight: normal; border: 1px solid var(--muted); border-radius: 3px;
       padding: 0 4px; margin-left: 6px; color: var(--muted); }
.scenario { border-left: 3px solid var(--rule); padding-left: 12px; margin-bottom: 10px; }
ul.levers { padding-left: 20px; margin-top: 2px; }
ul.levers li { margin-bottom: 4px; }
.table-wrap { overflow-x: auto; }
table { border-collapse: collapse; font-size: 0.9rem; }
table.headline { width: 100%; }
table.headline th, table.headline td { border-bottom: 1px solid var(--rule); padding: 6px 8px; text-align: right;
                                       vertical-align: top; }
table.headline th[scope="row"], table.headline thead th:first-child { text-align: left; }
table.headline thead th { border-bottom: 2px solid var(--text); }
.mean { font-weight: 600; }
.ci { color: var(--muted); font-size: 0.82rem; white-space: nowrap; }
.diff { font-size: 0.85rem; }
.diff.better { color: var(--better); font-weight: 600; }
.diff.worse { color: var(--worse); font-weight: 600; }
.diff.sig { font-weight: 600; }
.key-findings { background: #f3f6fa; border: 1px solid #c9d6e6; border-left: 6px solid #0b5394;
                padding: 4px 18px 8px; margin: 16px 0 8px; }
.key-findings h2 { margin-top: 10px; border-bottom: none; }
ul.findings-list { padding-left: 0; list-style: none; margin: 0 0 8px; }
ul.findings-list > li { margin-bottom: 10px; }
ul.findings-list ul { margin: 2px 0 0; padding-left: 22px; font-size: 0.92rem; }
.verdict { font-weight: 600; }
.verdict.better { color: var(--better); } .verdict.worse { color: var(--worse); }
table.plain th, table.plain td { text-align: left; padding: 3px 12px 3px 0; vertical-align: top; }
.charts { display: grid; grid-template-columns: 1fr; gap: 18px; }
@media (min-width: 1500px) { main { max-width: 1560px; } .charts { grid-template-columns: 1fr 1fr; } }
figure { margin: 0; }
figure img { width: 100%; height: auto; border: 1px solid var(--rule); display: block; }
figcaption { font-size: 0.88rem; margin-top: 4px; }
@media print { nav { display: none; } figure { break-inside: avoid; } }
"""
