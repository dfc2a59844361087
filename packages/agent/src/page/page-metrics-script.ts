// The page's Metrics view, served as /page-metrics.js beside page.js: the processes that sent DogStatsD
// metrics, and for the chosen one small time-series charts of its runtime metrics and its custom metrics,
// drawn as SVG polylines by DOM calls (no charting library: a chart here is an axis and a few lines).
// Names and tags come from clients, so they reach the DOM as text only, as in page.js.
// (Written without template literals, so it can live in this String.raw.)
export const PAGE_METRICS_SCRIPT = String.raw`'use strict'
;(function () {
  var POLL_MS = 1500
  var SVG = 'http://www.w3.org/2000/svg'
  var W = 320
  var H = 110
  var PAD = { left: 44, right: 8, top: 8, bottom: 18 }
  var MAX_POINTS = 360
  var MAX_CUSTOM = 24
  var COLORS = ['#632ca6', '#f28e2b', '#59a14f', '#4e79a7', '#d62d20', '#76b7b2', '#edc948', '#b07aa1']
  // dd-trace's runtime metrics, charted in this order: [id, title, unit, [[metric, label]...]].
  var RUNTIME = [
    ['event-loop-delay', 'Event loop delay', 'ns', [['runtime.node.event_loop.delay.95percentile', 'p95'], ['runtime.node.event_loop.delay.max', 'max']]],
    ['heap-used', 'Heap used', 'bytes', [['runtime.node.mem.heap_used', 'used'], ['runtime.node.mem.heap_total', 'total']]],
    ['gc-pause', 'GC pause time', 'ns', [['runtime.node.gc.pause.sum', 'per interval'], ['runtime.node.gc.pause.max', 'longest']]],
    ['cpu', 'CPU', 'percent', [['runtime.node.cpu.total', 'total'], ['runtime.node.cpu.user', 'user'], ['runtime.node.cpu.system', 'system']]],
    ['rss', 'RSS', 'bytes', [['runtime.node.mem.rss', 'rss']]],
    ['event-loop-utilization', 'Event loop utilization', 'ratio', [['runtime.node.event_loop.utilization', 'busy']]]
  ]
  // Tags every series of a process carries: not worth a legend entry.
  var COMMON_TAGS = /^(service|env|version|runtime-id|entrypoint\.[a-z]+|package\.json\.name|svc\.(auto|user)):/

  var view = { version: -1, processes: [], selected: null, series: new Map(), since: 0, busy: false }

  function $(id) { return document.getElementById(id) }

  function el(tag, attrs) {
    var node = document.createElement(tag)
    setAttrs(node, attrs)
    for (var i = 2; i < arguments.length; i++) append(node, arguments[i])
    return node
  }

  function svg(tag, attrs) {
    var node = document.createElementNS(SVG, tag)
    setAttrs(node, attrs)
    for (var i = 2; i < arguments.length; i++) append(node, arguments[i])
    return node
  }

  function setAttrs(node, attrs) {
    if (!attrs) return
    Object.keys(attrs).forEach(function (key) {
      var value = attrs[key]
      if (value === undefined || value === null || value === false) return
      if (key === 'text') node.textContent = String(value)
      else if (key === 'onclick') node.addEventListener('click', value)
      else node.setAttribute(key, String(value))
    })
  }

  function append(node, child) {
    if (child === undefined || child === null || child === false) return
    if (Array.isArray(child)) { child.forEach(function (c) { append(node, c) }); return }
    node.appendChild(typeof child === 'object' ? child : document.createTextNode(String(child)))
  }

  function getJson(path) {
    return fetch(path, { headers: { accept: 'application/json' }, cache: 'no-store' }).then(function (res) {
      return res.json().then(function (body) {
        if (!res.ok) throw new Error(body && body.error ? body.error : 'HTTP ' + res.status)
        return body
      })
    })
  }

  function pad2(n) { return n < 10 ? '0' + n : String(n) }
  function clock(ms) { var d = new Date(ms); return pad2(d.getHours()) + ':' + pad2(d.getMinutes()) + ':' + pad2(d.getSeconds()) }

  function fmt(value, unit) {
    if (!isFinite(value)) return ''
    var abs = Math.abs(value)
    if (unit === 'bytes') {
      if (abs >= 1073741824) return (value / 1073741824).toFixed(2) + ' GiB'
      if (abs >= 1048576) return (value / 1048576).toFixed(1) + ' MiB'
      if (abs >= 1024) return (value / 1024).toFixed(0) + ' KiB'
      return value + ' B'
    }
    if (unit === 'ns') {
      if (abs >= 1e9) return (value / 1e9).toFixed(2) + ' s'
      if (abs >= 1e6) return (value / 1e6).toFixed(abs >= 1e8 ? 0 : 1) + ' ms'
      if (abs >= 1e3) return (value / 1e3).toFixed(0) + ' µs'
      return value.toFixed(0) + ' ns'
    }
    if (unit === 'percent') return value.toFixed(1) + '%'
    if (unit === 'ratio') return (value * 100).toFixed(0) + '%'
    if (abs >= 1e6) return (value / 1e6).toFixed(1) + 'M'
    if (abs >= 1e4) return (value / 1e3).toFixed(1) + 'k'
    return String(Math.round(value * 100) / 100)
  }

  // A round top for the y axis: 1, 2 or 5 times a power of ten.
  function niceMax(max) {
    if (!(max > 0)) return 1
    var power = Math.pow(10, Math.floor(Math.log10(max)))
    var steps = [1, 2, 5, 10]
    for (var i = 0; i < steps.length; i++) if (steps[i] * power >= max) return steps[i] * power
    return 10 * power
  }

  function visible() {
    var section = $('view-metrics')
    var live = $('live')
    return section && !section.hidden && !document.hidden && (!live || live.checked)
  }

  function processKey(p) { return p.service + '\n' + p.runtimeId }

  // The hash names the process: #/metrics/<service>/<runtime id>.
  function hashProcess() {
    var parts = location.hash.replace(/^#\/?/, '').split('/')
    if (parts[0] !== 'metrics' || parts.length < 3) return null
    return decodeURIComponent(parts[1]) + '\n' + decodeURIComponent(parts[2])
  }

  function tick(force) {
    if (view.busy || (!force && !visible())) return
    view.busy = true
    getJson('/api/metrics').then(function (overview) {
      if (overview.version < view.version) resetSeries()
      var changed = overview.version !== view.version
      view.version = overview.version
      view.processes = overview.processes
      var wanted = hashProcess()
      var keys = view.processes.map(processKey)
      var next = wanted !== null && keys.indexOf(wanted) !== -1 ? wanted
        : view.selected !== null && keys.indexOf(view.selected) !== -1 ? view.selected
          : (view.processes.filter(function (p) { return p.runtime })[0] || view.processes[0] || { service: null })
      if (typeof next === 'object') next = next.service === null ? null : processKey(next)
      if (next !== view.selected) { view.selected = next; resetSeries(); changed = true }
      renderProcesses(overview)
      if (!changed && !force) return
      return loadSeries().then(renderCharts)
    }).catch(function (error) {
      $('metric-charts').replaceChildren(el('p', { class: 'empty', text: 'Metrics unavailable: ' + error.message }))
    }).then(function () { view.busy = false })
  }

  function resetSeries() { view.series = new Map(); view.since = 0 }

  function selectedProcess() {
    return view.processes.filter(function (p) { return processKey(p) === view.selected })[0] || null
  }

  function customNames(p) {
    return p.names.filter(function (n) { return n.indexOf('runtime.node.') !== 0 && n.indexOf('datadog.') !== 0 }).slice(0, MAX_CUSTOM)
  }

  // New points only: since a little before the newest point held, merged by time per series.
  function loadSeries() {
    var p = selectedProcess()
    if (p === null) return Promise.resolve()
    var params = new URLSearchParams()
    params.set('service', p.service)
    params.set('runtimeId', p.runtimeId)
    params.set('limit', '2000')
    RUNTIME.forEach(function (chart) { chart[3].forEach(function (line) { params.append('name', line[0]) }) })
    customNames(p).forEach(function (name) { params.append('name', name) })
    if (view.since > 0) params.set('since', String(view.since - 2000))
    var key = view.selected
    return getJson('/api/metrics/series?' + params.toString()).then(function (body) {
      if (key !== view.selected) return
      body.series.forEach(function (s) {
        var id = s.name + '|' + s.type + '|' + s.tags.join(',')
        var held = view.series.get(id)
        if (held === undefined) { held = { name: s.name, type: s.type, tags: s.tags, points: [] }; view.series.set(id, held) }
        var last = held.points.length > 0 ? held.points[held.points.length - 1][0] : -Infinity
        s.points.forEach(function (point) { if (point[0] > last) { held.points.push(point); last = point[0] } })
        if (held.points.length > MAX_POINTS) held.points.splice(0, held.points.length - MAX_POINTS)
        if (last > view.since) view.since = last
      })
    })
  }

  function renderProcesses(overview) {
    var box = $('metric-processes')
    var services = []
    view.processes.forEach(function (p) { if (services.indexOf(p.service) === -1) services.push(p.service) })
    box.replaceChildren.apply(box, services.map(function (service) {
      return el('div', { class: 'process-group' },
        el('span', { class: 'process-service', text: service || '(no service tag)' }),
        view.processes.filter(function (p) { return p.service === service }).map(function (p) {
          var key = processKey(p)
          return el('button', {
            type: 'button',
            class: 'process' + (key === view.selected ? ' selected' : ''),
            'data-service': p.service,
            'data-runtime-id': p.runtimeId,
            title: 'runtime-id ' + (p.runtimeId || '(none)') + ' · ' + p.series + ' series · last ' + clock(p.lastSeen),
            onclick: function () { location.hash = '#/metrics/' + encodeURIComponent(p.service) + '/' + encodeURIComponent(p.runtimeId) }
          },
          el('span', { class: 'mono', text: p.runtimeId ? p.runtimeId.slice(0, 8) : 'no runtime-id' }),
          p.env || p.version ? el('span', { class: 'muted', text: [p.env, p.version].filter(Boolean).join(' ') }) : null,
          p.runtime ? el('span', { class: 'badge ok', text: 'runtime' }) : null)
        }))
    }))
    var counts = overview.counts
    $('metrics-empty').hidden = view.processes.length > 0
    $('metric-counts').textContent = counts.lines > 0
      ? counts.series + ' series · ' + counts.lines + ' lines (' + counts.packets + ' UDP packets, ' + counts.httpRequests + ' proxy requests)' + (counts.invalid > 0 ? ' · ' + counts.invalid + ' refused' : '')
      : ''
  }

  function renderCharts() {
    var box = $('metric-charts')
    var p = selectedProcess()
    if (p === null) { box.replaceChildren(); return }
    var all = Array.from(view.series.values())
    var times = []
    all.forEach(function (s) { s.points.forEach(function (pt) { times.push(pt[0]) }) })
    var end = Math.max(Date.now(), times.length > 0 ? Math.max.apply(null, times) : 0)
    var start = times.length > 0 ? Math.min(end - 60000, Math.min.apply(null, times)) : end - 60000
    var charts = []
    RUNTIME.forEach(function (chart) {
      var lines = chart[3].map(function (line) {
        var s = all.filter(function (x) { return x.name === line[0] })[0]
        return { label: line[1], points: s ? s.points : [] }
      }).filter(function (line) { return line.points.length > 0 })
      if (p.runtime) charts.push(drawChart(chart[0], chart[1], chart[2], lines, start, end, chart[3][0][0]))
    })
    customNames(p).forEach(function (name) {
      var lines = all.filter(function (s) { return s.name === name }).map(function (s) {
        var own = s.tags.filter(function (t) { return !COMMON_TAGS.test(t) })
        return { label: own.length > 0 ? own.join(', ') : s.type, points: s.points }
      })
      charts.push(drawChart('custom', name, 'number', lines, start, end, name))
    })
    box.replaceChildren.apply(box, charts)
  }

  function drawChart(id, title, unit, lines, start, end, metric) {
    var max = 0
    lines.forEach(function (line) { line.points.forEach(function (pt) { if (pt[1] > max) max = pt[1] }) })
    var top = niceMax(max)
    var plotW = W - PAD.left - PAD.right
    var plotH = H - PAD.top - PAD.bottom
    var span = Math.max(end - start, 1)
    var x = function (t) { return PAD.left + (t - start) / span * plotW }
    var y = function (v) { return PAD.top + plotH - Math.max(0, Math.min(v, top)) / top * plotH }
    var plot = svg('svg', { class: 'plot', viewBox: '0 0 ' + W + ' ' + H, width: W, height: H, role: 'img', 'aria-label': title },
      svg('line', { class: 'grid-line', x1: PAD.left, x2: W - PAD.right, y1: y(top), y2: y(top) }),
      svg('line', { class: 'grid-line', x1: PAD.left, x2: W - PAD.right, y1: y(top / 2), y2: y(top / 2) }),
      svg('line', { class: 'axis-line', x1: PAD.left, x2: W - PAD.right, y1: y(0), y2: y(0) }),
      svg('text', { class: 'y-label', x: PAD.left - 4, y: y(top) + 4, text: fmt(top, unit) }),
      svg('text', { class: 'y-label', x: PAD.left - 4, y: y(0), text: '0' }),
      svg('text', { class: 'x-label', x: PAD.left, y: H - 4, text: clock(start) }),
      svg('text', { class: 'x-label end', x: W - PAD.right, y: H - 4, text: clock(end) }),
      lines.map(function (line, i) {
        var coords = line.points.map(function (pt) { return x(pt[0]).toFixed(1) + ',' + y(pt[1]).toFixed(1) }).join(' ')
        // One point would be an invisible line: a dot shows it.
        var shape = line.points.length === 1
          ? svg('circle', { cx: x(line.points[0][0]).toFixed(1), cy: y(line.points[0][1]).toFixed(1), r: 2.5, fill: COLORS[i % COLORS.length] })
          : svg('polyline', { points: coords, fill: 'none', stroke: COLORS[i % COLORS.length], 'stroke-width': 1.5 })
        shape.setAttribute('data-series', line.label)
        shape.setAttribute('data-points', String(line.points.length))
        return shape
      }))
    var legend = lines.map(function (line, i) {
      var last = line.points[line.points.length - 1]
      var swatch = el('span', { class: 'swatch' })
      swatch.style.background = COLORS[i % COLORS.length]
      return el('span', { class: 'legend-item', 'data-series': line.label }, swatch, el('span', { text: line.label }), ' ', el('b', { class: 'last', text: fmt(last[1], unit) }))
    })
    return el('figure', { class: 'chart', 'data-chart': id, 'data-metric': metric, 'data-top': top, 'data-start': start, 'data-end': end },
      el('figcaption', null, el('span', { class: 'chart-title', text: title }), lines.length === 0 ? el('span', { class: 'muted', text: ' no data yet' }) : null),
      plot,
      el('div', { class: 'legend' }, legend))
  }

  function init() {
    if (!$('view-metrics')) return
    window.addEventListener('hashchange', function () {
      if (/^#\/?metrics/.test(location.hash)) tick(true)
    })
    document.addEventListener('visibilitychange', function () { if (visible()) tick(false) })
    if ($('live')) $('live').addEventListener('change', function () { if (visible()) tick(true) })
    if (/^#\/?metrics/.test(location.hash)) tick(true)
    setInterval(function () { tick(false) }, POLL_MS)
  }

  init()
})()
`
