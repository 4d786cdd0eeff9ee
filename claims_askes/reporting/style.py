"""The page's one inline stylesheet: full-width tables, labels that wrap, a layout for phones."""

STYLE = """
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;
padding:16px 24px;color:#212121;background:#fff}
main{max-width:1600px;margin:0 auto}
h1{font-size:22px;margin:0 0 4px} h2{font-size:17px;margin:28px 0 8px;padding-bottom:4px;
border-bottom:1px solid #e0e0e0} h3{font-size:14px;margin:16px 0 6px}
.sub{color:#616161;margin:0 0 16px} .note{color:#616161;margin:4px 0 8px}
p,td,th,figcaption,.kpi,.legend,.chip{overflow-wrap:break-word} td.t{overflow-wrap:anywhere}
.kpis{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(100%,180px),1fr));gap:8px;
margin:0 0 16px}
.kpi{background:#f5f5f5;border-radius:6px;padding:8px 10px;min-width:0}
.kpi b{display:block;font-size:18px} .kpi.bad{background:#ffebee} .kpi.good{background:#e8f5e9}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(100%,560px),1fr));gap:8px 32px}
.grid>*{min-width:0}
figure{margin:16px 0} figcaption{font-weight:600;margin:0 0 6px}
svg{width:100%;height:auto;display:block}
.axis{font-size:12px;fill:#616161} .legend{font-size:12px;color:#424242}
.key{margin-right:14px;display:inline-block} .key i{display:inline-block;width:10px;height:10px;
margin-right:4px;border-radius:2px}
.empty{color:#757575;font-style:italic}
table{border-collapse:collapse;width:100%;font-size:13px;margin:4px 0 8px}
td,th{padding:4px 8px;border-bottom:1px solid #eee;text-align:right;vertical-align:top}
th{background:#fafafa;font-weight:600} .t{text-align:left}
td,th{white-space:nowrap} td.t,th.t{white-space:normal}
tbody tr:hover{background:#fafafa}
.bar{display:block;min-width:60px;height:12px;margin-top:3px;background:#f5f5f5;border-radius:2px}
.bar i{display:block;height:100%;border-radius:2px}
.chip{display:inline-block;background:#ffebee;border-radius:10px;padding:0 8px;margin:1px 4px 1px 0;
font-size:12px}
a{color:#1565c0}
@media (max-width:720px){body{padding:8px} td,th{padding:3px 4px;font-size:12px;
white-space:normal;overflow-wrap:anywhere}
h1{font-size:19px} .kpi b{font-size:16px}}
"""
