// The page's stylesheet: system fonts, no external resources.
export const PAGE_CSS = `
:root {
  --bg: #f6f7f9; --panel: #fff; --text: #1f2430; --muted: #6b7280; --line: #e3e6eb;
  --accent: #632ca6; --error: #d62d20; --error-bg: #fdecea; --select: #efe9f8;
  font: 13px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif;
}
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--text); }
code, pre, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12px; }
.top { display: flex; align-items: center; gap: 16px; padding: 8px 16px; background: #2d1a4a; color: #fff; position: sticky; top: 0; z-index: 2; }
.top h1 { font-size: 15px; margin: 0; font-weight: 600; white-space: nowrap; }
.top h1 small { font-weight: 400; opacity: .75; }
.tabs { display: flex; gap: 4px; }
.tab { background: transparent; color: #d9cdef; border: 0; padding: 6px 10px; border-radius: 4px; cursor: pointer; font: inherit; }
.tab.active, .tab:hover { background: rgba(255,255,255,.14); color: #fff; }
.count { opacity: .8; }
.count.bad { color: #ffb4ab; font-weight: 600; opacity: 1; }
.controls { margin-left: auto; display: flex; align-items: center; gap: 12px; }
.status { opacity: .85; }
.status.down { color: #ffb4ab; opacity: 1; }
.live { display: flex; align-items: center; gap: 4px; cursor: pointer; }
button.quiet { background: rgba(255,255,255,.12); color: #fff; border: 1px solid rgba(255,255,255,.25); border-radius: 4px; padding: 4px 10px; cursor: pointer; font: inherit; }
main { padding: 12px 16px 32px; }
.view[hidden] { display: none; }
.muted { color: var(--muted); }
.empty { color: var(--muted); padding: 16px; text-align: center; }
.empty[hidden] { display: none; }
.filters { display: flex; flex-wrap: wrap; align-items: center; gap: 14px; margin-bottom: 8px; }
.filters label { display: flex; align-items: center; gap: 6px; color: var(--muted); }
.filters input, .filters select { font: inherit; padding: 3px 6px; border: 1px solid var(--line); border-radius: 4px; background: #fff; }
.filters input[type=number] { width: 80px; }
.list { background: var(--panel); border: 1px solid var(--line); border-radius: 6px; max-height: 38vh; overflow: auto; }
table.grid { width: 100%; border-collapse: collapse; }
.grid th { position: sticky; top: 0; background: #fafbfc; text-align: left; font-weight: 600; color: var(--muted); padding: 6px 10px; border-bottom: 1px solid var(--line); white-space: nowrap; }
.grid td { padding: 5px 10px; border-bottom: 1px solid var(--line); vertical-align: top; }
.grid tbody tr { cursor: pointer; }
.grid tbody tr:hover { background: #f3f4f7; }
.grid tbody tr.selected { background: var(--select); }
.grid .num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
#summary, #violations { background: var(--panel); border: 1px solid var(--line); }
.resource { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12px; word-break: break-all; }
.svc { display: inline-flex; align-items: center; gap: 5px; white-space: nowrap; }
.dot { width: 9px; height: 9px; border-radius: 2px; display: inline-block; flex: none; }
.badge { display: inline-block; padding: 0 6px; border-radius: 8px; font-size: 11px; line-height: 17px; background: #eef0f3; color: #374151; white-space: nowrap; }
.badge.error { background: var(--error); color: #fff; }
.badge.warn { background: #fff4d6; color: #7a5200; }
.badge.ok { background: #e6f4ea; color: #1e6b34; }
tr.has-error td:first-child { box-shadow: inset 3px 0 0 var(--error); }
.detail { margin-top: 12px; background: var(--panel); border: 1px solid var(--line); border-radius: 6px; }
.detail[hidden] { display: none; }
.trace-head { padding: 10px 14px; border-bottom: 1px solid var(--line); display: flex; flex-wrap: wrap; gap: 8px 16px; align-items: baseline; }
.trace-head h2 { margin: 0; font-size: 15px; }
.trace-head .warn-line { flex-basis: 100%; color: #7a5200; }
.trace-body { display: flex; align-items: flex-start; }
.waterfall { flex: 1; min-width: 0; padding: 6px 0 10px; }
.span-row, .axis { display: grid; grid-template-columns: minmax(220px, 36%) 1fr 76px; align-items: center; }
.span-row { cursor: pointer; min-height: 24px; }
.span-row:hover { background: #f3f4f7; }
.span-row.selected { background: var(--select); }
.span-row .label { display: flex; align-items: center; gap: 6px; padding: 2px 8px; overflow: hidden; white-space: nowrap; }
.span-row .label .name { font-weight: 600; }
.span-row .label .res { color: var(--muted); overflow: hidden; text-overflow: ellipsis; }
.span-row .mark { color: var(--error); font-weight: 700; }
.track { position: relative; height: 16px; margin: 0 6px; }
.axis .track { height: 18px; border-bottom: 1px solid var(--line); }
.tick { position: absolute; top: 0; font-size: 10px; color: var(--muted); transform: translateX(-50%); white-space: nowrap; }
.tick:first-child { transform: none; }
.tick.last { transform: translateX(-100%); }
.bar { position: absolute; top: 2px; height: 12px; min-width: 2px; border-radius: 2px; }
.span-row.error .bar { background-image: repeating-linear-gradient(135deg, rgba(255,255,255,.0) 0 4px, rgba(255,255,255,.45) 4px 6px); outline: 2px solid var(--error); outline-offset: 0; }
.dur { text-align: right; padding-right: 10px; color: var(--muted); font-variant-numeric: tabular-nums; font-size: 12px; }
.span-detail { width: 400px; flex: none; border-left: 1px solid var(--line); padding: 10px 14px; max-height: 70vh; overflow: auto; }
.span-detail h3 { margin: 0 0 4px; font-size: 14px; }
.span-detail h4 { margin: 14px 0 4px; font-size: 12px; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); }
.span-detail table { width: 100%; border-collapse: collapse; }
.span-detail td { padding: 2px 4px; border-bottom: 1px solid var(--line); vertical-align: top; word-break: break-all; white-space: pre-wrap; }
.span-detail td.k { color: var(--muted); width: 38%; }
.error-box { background: var(--error-bg); border: 1px solid #f5c2bd; border-radius: 4px; padding: 8px; margin-top: 8px; }
.error-box .etype { color: var(--error); font-weight: 600; }
.bar .event-mark { position: absolute; top: -2px; width: 2px; height: 16px; background: var(--text); transform: translateX(-1px); }
.event, .link { border: 1px solid var(--line); border-radius: 4px; padding: 4px 6px; margin-top: 6px; }
.event-head .event-name { font-weight: 600; }
pre.stack, pre.json { white-space: pre-wrap; word-break: break-all; margin: 6px 0 0; max-height: 300px; overflow: auto; }
.violation { color: #7a5200; }
a.trace-link { color: var(--accent); cursor: pointer; text-decoration: underline; }
.processes { display: flex; flex-wrap: wrap; gap: 8px 18px; margin: 8px 0 12px; }
.process-group { display: flex; flex-wrap: wrap; align-items: center; gap: 6px; }
.process-service { font-weight: 600; }
button.process { display: inline-flex; align-items: center; gap: 6px; font: inherit; background: var(--panel); border: 1px solid var(--line); border-radius: 4px; padding: 3px 8px; cursor: pointer; }
button.process:hover { background: #f3f4f7; }
button.process.selected { background: var(--select); border-color: var(--accent); }
.charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(340px, 1fr)); gap: 12px; }
.chart { margin: 0; background: var(--panel); border: 1px solid var(--line); border-radius: 6px; padding: 8px 10px; }
.chart figcaption { font-weight: 600; margin-bottom: 4px; word-break: break-all; }
.chart .plot { display: block; width: 100%; height: auto; overflow: visible; }
.chart .grid-line { stroke: var(--line); stroke-width: 1; }
.chart .axis-line { stroke: #b8bec8; stroke-width: 1; }
.chart .y-label { font-size: 10px; fill: var(--muted); text-anchor: end; }
.chart .x-label { font-size: 10px; fill: var(--muted); }
.chart .x-label.end { text-anchor: end; }
.legend { display: flex; flex-wrap: wrap; gap: 4px 12px; font-size: 12px; margin-top: 2px; }
.legend-item { display: inline-flex; align-items: center; gap: 4px; word-break: break-all; }
.swatch { width: 10px; height: 3px; border-radius: 1px; display: inline-block; flex: none; }
.legend .last { font-variant-numeric: tabular-nums; }
@media (max-width: 900px) { .trace-body { flex-direction: column; } .span-detail { width: 100%; border-left: 0; border-top: 1px solid var(--line); } }
`
