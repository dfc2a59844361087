// The page's script, served as /page.js. Plain DOM, no framework, no build step: it is a string so that it
// ships inside dist/ and inside any bundle of this package. Every value from a trace reaches the DOM
// through textContent or a text node, never through innerHTML: span tags are whatever a client sent.
// (Written without template literals, so it can live in this String.raw.)
export const PAGE_SCRIPT = String.raw`'use strict'
;(function () {
  var POLL_MS = 1500
  var PALETTE = ['#4e79a7', '#f28e2b', '#59a14f', '#b07aa1', '#76b7b2', '#edc948', '#9c755f', '#ff9da7', '#86bcb6', '#8cd17d', '#a0cbe8', '#bab0ac']
  var state = {
    tab: 'traces', version: -1, shownVersion: -1, live: true, busy: false,
    traceId: null, trace: null, spanId: null, colors: new Map(),
    // The list is asked for from several places (the poll, a filter keystroke, a link): each answer is
    // drawn only if it answers the latest question, so a slow answer to an older filter never wins.
    listAsked: 0
  }
  var NO_TRACES = ''

  function $(id) { return document.getElementById(id) }

  function el(tag, attrs) {
    var node = document.createElement(tag)
    if (attrs) {
      Object.keys(attrs).forEach(function (key) {
        var value = attrs[key]
        if (value === undefined || value === null || value === false) return
        if (key === 'class') node.className = value
        else if (key === 'text') node.textContent = String(value)
        else if (key === 'title') node.title = String(value)
        else if (key === 'onclick') node.addEventListener('click', value)
        else node.setAttribute(key, String(value))
      })
    }
    for (var i = 2; i < arguments.length; i++) append(node, arguments[i])
    return node
  }

  function append(node, child) {
    if (child === undefined || child === null || child === false) return
    if (Array.isArray(child)) { child.forEach(function (c) { append(node, c) }); return }
    node.appendChild(typeof child === 'object' ? child : document.createTextNode(String(child)))
  }

  function fmtDuration(ns) {
    if (!(ns > 0)) return '0'
    if (ns < 1e3) return ns + ' ns'
    if (ns < 1e6) return (ns / 1e3).toFixed(ns < 1e4 ? 1 : 0) + ' µs'
    if (ns < 1e9) return (ns / 1e6).toFixed(ns < 1e7 ? 2 : ns < 1e8 ? 1 : 0) + ' ms'
    return (ns / 1e9).toFixed(2) + ' s'
  }

  function pad(n, width) { var s = String(n); while (s.length < width) s = '0' + s; return s }

  function isoTime(ns) {
    var d = new Date(Number(ns.length > 6 ? ns.slice(0, -6) : '0'))
    return isNaN(d.getTime()) ? ns + ' ns' : d.toISOString()
  }

  function fmtTime(ms) {
    var d = new Date(ms)
    return pad(d.getHours(), 2) + ':' + pad(d.getMinutes(), 2) + ':' + pad(d.getSeconds(), 2) + '.' + pad(d.getMilliseconds(), 3)
  }

  function colorOf(service) {
    var color = state.colors.get(service)
    if (color === undefined) {
      color = PALETTE[state.colors.size % PALETTE.length]
      state.colors.set(service, color)
    }
    return color
  }

  function serviceLabel(service) {
    var dot = el('span', { class: 'dot' })
    dot.style.background = colorOf(service)
    return el('span', { class: 'svc' }, dot, service || '(none)')
  }

  function getJson(path, options) {
    return fetch(path, Object.assign({ headers: { accept: 'application/json' }, cache: 'no-store' }, options || {})).then(function (res) {
      return res.json().then(function (body) {
        if (!res.ok) throw new Error(body && body.error ? body.error : 'HTTP ' + res.status)
        return body
      })
    })
  }

  function setStatus(text, down) {
    var node = $('status')
    node.textContent = text
    node.className = down ? 'status down' : 'status'
  }

  // ---- navigation -------------------------------------------------------------------------------------

  function showTab(tab) {
    state.tab = tab
    document.querySelectorAll('.tab').forEach(function (b) { b.classList.toggle('active', b.getAttribute('data-tab') === tab) })
    ;['traces', 'summary', 'violations', 'metrics'].forEach(function (name) { $('view-' + name).hidden = name !== tab })
  }

  // The hash says what is shown (#/trace/<id>[/<span id>], #/summary, #/violations, #/metrics[/...]), so
  // a view can be linked and survives a reload. The Metrics view draws itself (page-metrics.js).
  function readHash(load) {
    var parts = location.hash.replace(/^#\/?/, '').split('/')
    if (parts[0] === 'trace' && /^\d+$/.test(parts[1] || '')) {
      showTab('traces')
      setTrace(parts[1], /^\d+$/.test(parts[2] || '') ? parts[2] : null)
    } else if (parts[0] === 'summary' || parts[0] === 'violations' || parts[0] === 'metrics') {
      showTab(parts[0])
    } else {
      showTab('traces')
    }
    if (load) refresh().catch(function () { setStatus('intake unreachable', true) })
  }

  function go(hash) {
    if (location.hash === hash) readHash(true)
    else location.hash = hash
  }

  // ---- polling ----------------------------------------------------------------------------------------

  function tick(force) {
    if (state.busy || (!force && (!state.live || document.hidden))) return
    state.busy = true
    getJson('/api/status').then(function (status) {
      renderStatus(status)
      if (force || status.version !== state.shownVersion) {
        // Marked as shown once drawn: a refresh that failed is tried again at the next poll.
        return refresh().then(function () { state.shownVersion = status.version })
      }
    }).catch(function () {
      setStatus('intake unreachable', true)
    }).then(function () { state.busy = false })
  }

  function refresh() {
    if (state.tab === 'traces') {
      var jobs = [loadTraces()]
      if (state.traceId) jobs.push(loadTrace(state.traceId))
      return Promise.all(jobs)
    }
    if (state.tab === 'summary') return loadSummary()
    if (state.tab === 'metrics') return Promise.resolve()
    return loadViolations()
  }

  function renderStatus(status) {
    setStatus(status.traces + ' traces · ' + status.spans + ' spans · ' + status.payloads + ' payloads' + (state.live ? '' : ' · paused'), false)
    $('count-traces').textContent = String(status.traces)
    var v = $('count-violations')
    v.textContent = String(status.violations)
    v.className = status.violations > 0 ? 'count bad' : 'count'
    var select = $('filter-service')
    var known = Array.prototype.map.call(select.options, function (o) { return o.value })
    ;(status.services || []).slice().sort().forEach(function (service) {
      colorOf(service)
      if (known.indexOf(service) === -1) select.appendChild(el('option', { value: service, text: service }))
    })
  }

  // ---- traces list ------------------------------------------------------------------------------------

  function traceQuery() {
    var params = new URLSearchParams()
    params.set('limit', '200')
    var service = $('filter-service').value
    var resource = $('filter-resource').value.trim()
    var min = $('filter-min').value.trim()
    if (service) params.set('service', service)
    if (resource) params.set('resource', resource)
    if (min && Number(min) >= 0) params.set('minDurationMs', String(Number(min)))
    if ($('filter-error').checked) params.set('error', 'true')
    return params.toString()
  }

  function loadTraces() {
    var asked = ++state.listAsked
    return getJson('/api/traces?' + traceQuery()).then(function (body) {
      if (asked === state.listAsked) renderTraces(body)
    })
  }

  // What the filters ask for, in words, for the message when nothing matches.
  function filterText() {
    var parts = []
    var service = $('filter-service').value
    var resource = $('filter-resource').value.trim()
    var min = $('filter-min').value.trim()
    if (service) parts.push('service ' + service)
    if (resource) parts.push('resource "' + resource + '"')
    if (min && Number(min) >= 0) parts.push('at least ' + Number(min) + ' ms')
    if ($('filter-error').checked) parts.push('errors only')
    return parts.length > 0 ? parts.join(', ') : 'the filters'
  }

  function renderTraces(body) {
    var tbody = $('traces').tBodies[0]
    var rows = body.traces.map(function (t) {
      var status = t.status === null ? '' : t.status
      var row = el('tr', {
        class: 'trace-row' + (t.error ? ' has-error' : '') + (t.traceId === state.traceId ? ' selected' : ''),
        'data-trace-id': t.traceId,
        tabindex: '0',
        onclick: function () { go('#/trace/' + t.traceId) }
      },
      el('td', { class: 'num', text: fmtTime(t.startMs) }),
      el('td', null, serviceLabel(t.service)),
      el('td', null, el('span', { class: 'resource', text: t.resource }), t.rootCount > 1 ? el('span', { class: 'badge warn', title: t.rootCount + ' spans have no parent in this trace', text: 'partial' }) : null),
      el('td', { class: 'num', text: fmtDuration(t.durationNs) }),
      el('td', null, t.error ? el('span', { class: 'badge error', text: status ? status + ' error' : 'error' }) : status ? el('span', { class: 'badge ok', text: status }) : null,
        t.violationCount > 0 ? el('span', { class: 'badge warn', title: 'violations in this trace', text: t.violationCount + ' violations' }) : null),
      el('td', { class: 'num', text: t.spanCount }),
      el('td', null, t.services.map(function (s) { return [serviceLabel(s), ' '] })))
      row.addEventListener('keydown', function (e) { if (e.key === 'Enter') go('#/trace/' + t.traceId) })
      return row
    })
    tbody.replaceChildren.apply(tbody, rows)
    // Empty means "no traces yet" only when the intake holds none; the count in the tab comes from this
    // same answer, so the two cannot disagree.
    var empty = $('traces-empty')
    empty.hidden = rows.length > 0
    empty.textContent = body.held > 0 ? 'No trace matches ' + filterText() + ' (' + body.held + ' traces held).' : NO_TRACES
    $('count-traces').textContent = String(body.held)
    $('filter-total').textContent = body.total > body.traces.length ? 'showing ' + body.traces.length + ' of ' + body.total : body.total + ' traces'
  }

  // ---- one trace --------------------------------------------------------------------------------------

  function setTrace(traceId, spanId) {
    if (state.traceId !== traceId) { state.trace = null; state.spanId = null }
    state.traceId = traceId
    if (spanId) state.spanId = spanId
    document.querySelectorAll('tr.trace-row').forEach(function (r) { r.classList.toggle('selected', r.getAttribute('data-trace-id') === traceId) })
  }

  function loadTrace(traceId) {
    return getJson('/api/traces/' + traceId).then(function (body) {
      if (state.traceId !== traceId) return
      state.trace = body.trace
      renderTrace(body.trace)
    }).catch(function (error) {
      if (state.traceId !== traceId) return
      $('detail').hidden = false
      $('trace-head').replaceChildren(el('span', { class: 'muted', text: 'Trace ' + traceId + ': ' + error.message }))
      $('waterfall').replaceChildren()
      $('span-detail').replaceChildren()
    })
  }

  // Depth-first by start time, so every child sits below its parent; spans whose parent is not in the
  // trace start their own subtree at depth 0.
  function treeOrder(spans) {
    var byId = new Map()
    spans.forEach(function (s) { byId.set(s.span_id, s) })
    var children = new Map()
    var roots = []
    spans.forEach(function (s) {
      if (s.parent_id !== '0' && s.parent_id !== s.span_id && byId.has(s.parent_id)) {
        if (!children.has(s.parent_id)) children.set(s.parent_id, [])
        children.get(s.parent_id).push(s)
      } else {
        roots.push(s)
      }
    })
    var out = []
    var seen = new Set()
    function visit(span, depth) {
      if (seen.has(span.span_id)) return
      seen.add(span.span_id)
      out.push({ span: span, depth: depth })
      ;(children.get(span.span_id) || []).forEach(function (c) { visit(c, depth + 1) })
    }
    roots.forEach(function (r) { visit(r, 0) })
    // A parent cycle leaves spans unvisited; show them rather than lose them.
    spans.forEach(function (s) { if (!seen.has(s.span_id)) visit(s, 0) })
    return out
  }

  function renderTrace(trace) {
    $('detail').hidden = false
    var head = [
      el('h2', null, el('span', { class: 'resource', text: trace.resource || trace.name })),
      el('span', { class: 'mono muted', title: 'trace id (hex); ' + trace.traceId + ' in decimal', text: trace.traceIdHex }),
      el('span', { text: fmtDuration(trace.durationNs) }),
      el('span', { text: trace.spanCount + ' spans' }),
      trace.errorCount > 0 ? el('span', { class: 'badge error', text: trace.errorCount + (trace.errorCount === 1 ? ' error' : ' errors') }) : null,
      el('span', null, trace.services.map(function (s) { return [serviceLabel(s), ' '] }))
    ]
    if (trace.rootCount > 1) head.push(el('div', { class: 'warn-line', text: trace.rootCount + ' spans have no parent in this trace: a part has not arrived, or a service did not continue the trace.' }))
    if (trace.dropReason) head.push(el('div', { class: 'warn-line', text: 'The Datadog Agent would drop this trace (' + trace.dropReason + ').' }))
    if (trace.violations.length > 0) head.push(el('div', { class: 'warn-line', text: trace.violations.length + ' violations: ' + trace.violations.map(function (v) { return v.rule }).join(', ') }))
    // replaceChildren would write a null as the text "null".
    $('trace-head').replaceChildren.apply($('trace-head'), head.filter(Boolean))

    var total = Math.max(trace.durationNs, 1)
    var rows = [axis(total)]
    var ordered = treeOrder(trace.spans)
    if (!state.spanId || !trace.spans.some(function (s) { return s.span_id === state.spanId })) state.spanId = ordered.length > 0 ? ordered[0].span.span_id : null
    ordered.forEach(function (item) {
      var span = item.span
      var bar = el('div', { class: 'bar' })
      bar.style.left = (span.offsetNs / total * 100) + '%'
      bar.style.width = (Math.max(span.duration, 0) / total * 100) + '%'
      bar.style.background = colorOf(span.service)
      // Each event is a tick on its span's bar, where it happened.
      ;(span.events || []).forEach(function (event) {
        var mark = el('span', { class: 'event-mark', title: event.name + ' +' + fmtDuration(event.offsetNs) })
        mark.style.left = (span.duration > 0 ? Math.min(Math.max(event.offsetNs / span.duration, 0), 1) * 100 : 0) + '%'
        bar.appendChild(mark)
      })
      var label = el('div', { class: 'label', title: span.service + ' ' + span.name + ' ' + span.resource },
        serviceLabel(span.service), el('span', { class: 'name', text: span.name }), el('span', { class: 'res', text: span.resource }),
        span.error ? el('span', { class: 'mark', title: 'error', text: '!' }) : null)
      label.style.paddingLeft = (8 + item.depth * 16) + 'px'
      var row = el('div', {
        class: 'span-row' + (span.error ? ' error' : '') + (span.span_id === state.spanId ? ' selected' : ''),
        'data-span-id': span.span_id, 'data-parent-id': span.parent_id, 'data-depth': item.depth, 'data-service': span.service,
        tabindex: '0',
        onclick: function () { selectSpan(span.span_id) }
      }, label, el('div', { class: 'track' }, bar), el('div', { class: 'dur', text: fmtDuration(span.duration) }))
      row.addEventListener('keydown', function (e) { if (e.key === 'Enter') selectSpan(span.span_id) })
      rows.push(row)
    })
    $('waterfall').replaceChildren.apply($('waterfall'), rows)
    renderSpan()
  }

  function axis(total) {
    var track = el('div', { class: 'track' })
    for (var i = 0; i <= 4; i++) {
      var tick = el('span', { class: 'tick' + (i === 4 ? ' last' : ''), text: fmtDuration(total * i / 4) })
      tick.style.left = (i * 25) + '%'
      track.appendChild(tick)
    }
    return el('div', { class: 'axis' }, el('div'), track, el('div'))
  }

  function selectSpan(spanId) {
    state.spanId = spanId
    document.querySelectorAll('.span-row').forEach(function (r) { r.classList.toggle('selected', r.getAttribute('data-span-id') === spanId) })
    renderSpan()
  }

  function kvTable(entries) {
    return el('table', null, el('tbody', null, entries.map(function (e) {
      return el('tr', null, el('td', { class: 'k', text: e[0] }), el('td', { class: 'mono', text: e[1] }))
    })))
  }

  function sortedEntries(obj) {
    return Object.keys(obj).sort().map(function (k) { return [k, String(obj[k])] })
  }

  function renderSpan() {
    var box = $('span-detail')
    var trace = state.trace
    var span = trace && trace.spans.find(function (s) { return s.span_id === state.spanId })
    if (!span) { box.replaceChildren(el('p', { class: 'muted', text: 'Click a span to see its tags.' })); return }
    var parts = [
      el('h3', null, serviceLabel(span.service), ' ', span.name),
      el('div', { class: 'resource', text: span.resource })
    ]
    if (span.error) {
      var meta = span.meta
      parts.push(el('div', { class: 'error-box' },
        el('div', { class: 'etype', text: meta['error.type'] || 'error' }),
        meta['error.message'] ? el('div', { text: meta['error.message'] }) : null,
        meta['error.stack'] ? el('pre', { class: 'stack', text: meta['error.stack'] }) : el('div', { class: 'muted', text: 'No error.stack tag on this span.' })))
    }
    parts.push(el('h4', { text: 'span' }), kvTable([
      ['span_id', span.span_id], ['parent_id', span.parent_id], ['trace_id', span.trace_id], ['type', span.type || ''],
      ['start', isoTime(span.start) + ' (+' + fmtDuration(span.offsetNs) + ')'],
      ['duration', fmtDuration(span.duration) + ' (' + span.duration + ' ns)'], ['error', String(span.error)]
    ]))
    if (span.events) {
      parts.push(el('h4', { text: 'events (' + span.events.length + ')' }), el('div', { class: 'events' }, span.events.map(function (event) {
        return el('div', { class: 'event' },
          el('div', { class: 'event-head' }, el('span', { class: 'event-name', text: event.name }), ' ', el('span', { class: 'muted', text: '+' + fmtDuration(event.offsetNs) })),
          Object.keys(event.attributes).length > 0 ? kvTable(Object.keys(event.attributes).sort().map(function (k) {
            var value = event.attributes[k]
            return [k, typeof value === 'string' ? value : JSON.stringify(value)]
          })) : null)
      })))
    }
    if (span.links) {
      parts.push(el('h4', { text: 'links (' + span.links.length + ')' }), el('div', { class: 'links' }, span.links.map(function (link) {
        var rows = [['span_id', link.spanId]]
        if (link.flags !== undefined) rows.push(['flags', String(link.flags)])
        if (link.tracestate !== undefined) rows.push(['tracestate', link.tracestate])
        return el('div', { class: 'link' },
          el('a', { class: 'trace-link mono', text: link.traceId, title: 'open the linked trace', onclick: function () { go('#/trace/' + link.traceIdLow) } }),
          kvTable(rows.concat(sortedEntries(link.attributes))))
      })))
    }
    parts.push(el('h4', { text: 'meta (' + Object.keys(span.meta).length + ')' }), kvTable(sortedEntries(span.meta)))
    parts.push(el('h4', { text: 'metrics (' + Object.keys(span.metrics).length + ')' }), kvTable(sortedEntries(span.metrics)))
    ;['meta_struct', 'span_links', 'span_events'].forEach(function (key) {
      if (span[key] !== undefined) parts.push(el('h4', { text: key }), el('pre', { class: 'json', text: JSON.stringify(span[key], null, 2) }))
    })
    var violations = trace.violations.filter(function (v) { return v.spanId === span.span_id })
    if (violations.length > 0) {
      parts.push(el('h4', { text: 'violations' }), el('ul', null, violations.map(function (v) { return el('li', { class: 'violation' }, el('b', { text: v.rule }), ': ', v.message) })))
    }
    box.replaceChildren.apply(box, parts)
  }

  // ---- summary and violations -------------------------------------------------------------------------

  function loadSummary() {
    return getJson('/api/summary').then(function (body) {
      var tbody = $('summary').tBodies[0]
      var rows = body.rows.map(function (r) {
        var rate = r.requests > 0 ? Math.round(r.errors / r.requests * 100) : 0
        return el('tr', {
          class: r.errors > 0 ? 'has-error' : '',
          onclick: function () {
            $('filter-service').value = r.service
            $('filter-resource').value = r.resource
            go('#/traces')
          }
        },
        el('td', null, serviceLabel(r.service)), el('td', { class: 'mono', text: r.name }), el('td', { class: 'resource', text: r.resource }),
        el('td', { class: 'num', text: r.requests }),
        el('td', { class: 'num' }, r.errors > 0 ? el('span', { class: 'badge error', text: r.errors + ' (' + rate + '%)' }) : '0'),
        el('td', { class: 'num', text: fmtDuration(r.p50Ns) }), el('td', { class: 'num', text: fmtDuration(r.p95Ns) }),
        el('td', { class: 'num', text: fmtDuration(r.p99Ns) }), el('td', { class: 'num', text: fmtDuration(r.maxNs) }))
      })
      tbody.replaceChildren.apply(tbody, rows)
      $('summary-empty').hidden = rows.length > 0 || body.clientStats.rows.length > 0
      renderClientStats(body.clientStats)
    })
  }

  function renderClientStats(stats) {
    $('client-stats').hidden = stats.rows.length === 0
    $('client-stats-count').textContent = String(stats.payloads)
    var tbody = $('client-stats-rows').tBodies[0]
    tbody.replaceChildren.apply(tbody, stats.rows.map(function (r) {
      var rate = r.hits > 0 ? Math.round(r.errors / r.hits * 100) : 0
      return el('tr', { class: r.errors > 0 ? 'has-error' : '' },
        el('td', null, serviceLabel(r.service)), el('td', { class: 'mono', text: r.name }), el('td', { class: 'resource', text: r.resource }),
        el('td', { class: 'num', text: r.hits }),
        el('td', { class: 'num' }, r.errors > 0 ? el('span', { class: 'badge error', text: r.errors + ' (' + rate + '%)' }) : '0'),
        el('td', { class: 'num', text: r.topLevelHits }),
        el('td', { class: 'num', text: fmtDuration(r.hits > 0 ? Math.round(r.durationNs / r.hits) : 0) }),
        el('td', { class: 'num', text: fmtDuration(r.p50Ns) }), el('td', { class: 'num', text: fmtDuration(r.p95Ns) }), el('td', { class: 'num', text: fmtDuration(r.p99Ns) }))
    }))
  }

  function loadViolations() {
    return getJson('/api/violations?limit=1000').then(function (body) {
      var tbody = $('violations').tBodies[0]
      var rows = body.violations.map(function (v) {
        return el('tr', null,
          el('td', { class: 'num', text: fmtTime(v.receivedAt) }), el('td', { class: 'mono', text: v.rule }), el('td', { text: v.message }),
          el('td', { class: 'num', text: v.payloadId === null ? '' : '#' + v.payloadId + ' ' + v.endpoint }),
          el('td', null, v.traceId === null ? '' : el('a', { class: 'trace-link mono', text: v.traceId, onclick: function () { go('#/trace/' + v.traceId + (v.spanId ? '/' + v.spanId : '')) } })),
          el('td', { class: 'mono', text: v.spanId === null ? '' : v.spanId }))
      })
      tbody.replaceChildren.apply(tbody, rows)
      $('violations-empty').hidden = rows.length > 0
    })
  }

  // ---- wiring -----------------------------------------------------------------------------------------

  function init() {
    NO_TRACES = $('traces-empty').textContent
    document.querySelectorAll('.tab').forEach(function (button) {
      button.addEventListener('click', function () {
        var tab = button.getAttribute('data-tab')
        go(tab === 'traces' ? (state.traceId ? '#/trace/' + state.traceId : '#/traces') : '#/' + tab)
      })
    })
    $('live').addEventListener('change', function () { state.live = $('live').checked; tick(true) })
    $('clear').addEventListener('click', function () {
      getJson('/api/clear', { method: 'POST' }).then(function () {
        state.traceId = null; state.trace = null; state.spanId = null
        $('detail').hidden = true
        go('#/traces')
        tick(true)
      })
    })
    $('filters').addEventListener('submit', function (e) { e.preventDefault() })
    $('filters').addEventListener('input', function () { loadTraces() })
    window.addEventListener('hashchange', function () { readHash(true) })
    document.addEventListener('visibilitychange', function () { if (!document.hidden) tick(false) })
    readHash(false)
    tick(true)
    setInterval(function () { tick(false) }, POLL_MS)
  }

  init()
})()
`
