// The intake's page. Markup only: the data arrive through /api/* and are drawn by page.js with DOM calls
// (textContent, never innerHTML), so a hostile tag value is shown as text, never run. The empty-list
// message starts hidden: until the list has answered, the page does not know whether there are traces.
export const PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>datadog-apm · local intake</title>
<link rel="stylesheet" href="/page.css">
<script src="/page.js" defer></script>
<script src="/page-metrics.js" defer></script>
</head>
<body>
<header class="top">
  <h1>datadog-apm <small>local intake</small></h1>
  <nav class="tabs" aria-label="views">
    <button type="button" data-tab="traces" class="tab active">Traces <span class="count" id="count-traces"></span></button>
    <button type="button" data-tab="summary" class="tab">Summary</button>
    <button type="button" data-tab="violations" class="tab">Violations <span class="count" id="count-violations"></span></button>
    <button type="button" data-tab="metrics" class="tab">Metrics</button>
  </nav>
  <div class="controls">
    <span id="status" class="status">connecting…</span>
    <label class="live"><input type="checkbox" id="live" checked> live</label>
    <button type="button" id="clear" class="quiet">Clear</button>
  </div>
</header>
<main>
  <section id="view-traces" class="view">
    <form id="filters" class="filters" autocomplete="off">
      <label>service <select id="filter-service"><option value="">all</option></select></label>
      <label>resource <input id="filter-resource" type="search" placeholder="exact resource"></label>
      <label>min duration <input id="filter-min" type="number" min="0" step="any" placeholder="ms"></label>
      <label class="check"><input id="filter-error" type="checkbox"> errors only</label>
      <span id="filter-total" class="muted"></span>
    </form>
    <div class="list">
      <table class="grid" id="traces">
        <thead><tr><th>time</th><th>service</th><th>resource</th><th class="num">duration</th><th>status</th><th class="num">spans</th><th>services</th></tr></thead>
        <tbody></tbody>
      </table>
      <p id="traces-empty" class="empty" hidden>No traces yet. Point a tracer at this intake (DD_TRACE_AGENT_URL) and they appear here.</p>
    </div>
    <div id="detail" class="detail" hidden>
      <div id="trace-head" class="trace-head"></div>
      <div class="trace-body">
        <div id="waterfall" class="waterfall"></div>
        <aside id="span-detail" class="span-detail"></aside>
      </div>
    </div>
  </section>
  <section id="view-summary" class="view" hidden>
    <p class="muted">Entry spans of each service (and spans marked measured) over the traces held, grouped as the Datadog Agent groups its stats. Click a row to list its traces.</p>
    <table class="grid" id="summary">
      <thead><tr><th>service</th><th>operation</th><th>resource</th><th class="num">requests</th><th class="num">errors</th><th class="num">p50</th><th class="num">p95</th><th class="num">p99</th><th class="num">max</th></tr></thead>
      <tbody></tbody>
    </table>
    <p id="summary-empty" class="empty">Nothing to summarize yet.</p>
    <div id="client-stats" hidden>
      <h3>From client stats <small class="muted">(<span id="client-stats-count"></span> /v0.6/stats payloads: every span the tracer saw, dropped traces included)</small></h3>
      <table class="grid" id="client-stats-rows">
        <thead><tr><th>service</th><th>operation</th><th>resource</th><th class="num">hits</th><th class="num">errors</th><th class="num">top-level</th><th class="num">avg</th><th class="num">p50</th><th class="num">p95</th><th class="num">p99</th></tr></thead>
        <tbody></tbody>
      </table>
    </div>
  </section>
  <section id="view-violations" class="view" hidden>
    <p class="muted">What a strict client should not send, checked by the Datadog Agent's rules and dd-apm-test-agent's checks.</p>
    <table class="grid" id="violations">
      <thead><tr><th>time</th><th>rule</th><th>message</th><th>payload</th><th>trace</th><th>span</th></tr></thead>
      <tbody></tbody>
    </table>
    <p id="violations-empty" class="empty">No violations: every payload received so far follows the rules.</p>
  </section>
  <section id="view-metrics" class="view" hidden>
    <p class="muted">Runtime metrics (<code>DD_RUNTIME_METRICS_ENABLED=true</code>) and custom metrics (<code>tracer.dogstatsd</code>) received over DogStatsD, per process: a service and a runtime id, the id its spans carry. <span id="metric-counts"></span></p>
    <div id="metric-processes" class="processes"></div>
    <div id="metric-charts" class="charts"></div>
    <p id="metrics-empty" class="empty">No metrics yet. Turn runtime metrics on in a tracer (<code>DD_RUNTIME_METRICS_ENABLED=true</code>) or send custom ones with <code>tracer.dogstatsd</code>: they come on this intake's <code>/dogstatsd/v2/proxy</code> or on its DogStatsD UDP port.</p>
  </section>
</main>
</body>
</html>
`
