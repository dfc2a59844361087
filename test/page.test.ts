import assert from 'node:assert/strict'
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { existsSync, mkdirSync, mkdtempSync, openSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { after, before, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { chromium, type BrowserContext, type Page } from 'playwright-core'
import { createTracer } from '@datadog-apm/core'

// The intake's page in a real browser (Debian's chromium driven by playwright-core), showing what the
// demo sent. It leaves a screenshot in test/artifacts/ for people to look at.

const CHROMIUM = '/usr/bin/chromium'
const root = fileURLToPath(new URL('..', import.meta.url))
const artifacts = join(root, 'test', 'artifacts')
const DEMO_REQUESTS = 13
/** What the shell around the demo prints when the terminal's Ctrl-C reached it as a signal. */
const SIGINT_SEEN = 'the shell got SIGINT'

/** Installs Debian's chromium when it is missing and we may (root, apt); otherwise fails saying what to do. */
function ensureChromium(): void {
  if (existsSync(CHROMIUM)) return
  const what = `The page test needs Debian's chromium at ${CHROMIUM}: run \`apt-get update && apt-get install -y chromium\` as root.`
  if (process.getuid?.() !== 0) throw new Error(`${what} (not installing it: this test does not run as root)`)
  mkdirSync(artifacts, { recursive: true })
  const logPath = join(artifacts, 'chromium-install.log')
  const log = openSync(logPath, 'w')
  const result = spawnSync('sh', ['-c', 'apt-get update && apt-get install -y chromium'], {
    stdio: ['ignore', log, log],
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    timeout: 15 * 60_000
  })
  if (result.status !== 0 || !existsSync(CHROMIUM)) {
    throw new Error(`${what} Installing it with apt-get failed (${result.error?.message ?? `exit ${result.status}`}); see ${logPath}`)
  }
}

let demo: ChildProcess | undefined
let demoOutput: string[] = []
let pageUrl = ''
let context: BrowserContext | undefined
let page: Page
let profile = ''

/** Evaluates `expression` in the page. Browser code is written as strings: this file is typed without the DOM. */
async function inPage<T>(expression: string): Promise<T> {
  const value: unknown = await page.evaluate(expression)
  return value as T
}

const textsOf = (selector: string): Promise<string[]> =>
  inPage<string[]>(`[...document.querySelectorAll(${JSON.stringify(selector)})].map((node) => node.textContent || '')`)

// Generous: on a fresh machine this hook installs chromium first.
before(async () => {
  ensureChromium()
  mkdirSync(artifacts, { recursive: true })
  // The demo as a person runs it (not --once), on a terminal (script(1) gives it one): it keeps the
  // intake and the page up until Ctrl-C, which there is a key press it reads (the last test). The shell
  // between them stands for pnpm, which fails with 130 whenever the terminal's SIGINT reached it too.
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' }
  delete env.DD_TRACE_AGENT_URL
  const demoCommand = [process.execPath, 'examples/demo.mjs', '--port', '0'].map((arg) => `'${arg.replaceAll("'", "'\\''")}'`).join(' ')
  const command = `trap 'echo "${SIGINT_SEEN}"; exit 130' INT; ${demoCommand}; exit $?`
  demo = spawn('script', ['-qfec', command, '/dev/null'], { cwd: root, env: { ...env, SHELL: '/bin/sh' }, stdio: ['pipe', 'pipe', 'pipe'] })
  demoOutput = []
  demo.stderr?.on('data', (chunk: Buffer) => demoOutput.push(chunk.toString()))
  const lines = createInterface({ input: demo.stdout as NodeJS.ReadableStream })
  pageUrl = await new Promise<string>((resolve, reject) => {
    // The api starts a PGlite database first: allow the services' own 60 s start limit.
    const timer = setTimeout(() => reject(new Error(`the demo did not print its page URL:\n${demoOutput.join('\n')}`)), 90_000)
    lines.on('line', (line) => {
      demoOutput.push(line)
      const match = /^open (http:\/\/127\.0\.0\.1:\d+\/) /.exec(line)
      if (match?.[1] !== undefined) {
        clearTimeout(timer)
        resolve(match[1])
      }
    })
    demo?.once('exit', (code) => reject(new Error(`the demo exited (${code}) before printing its page URL:\n${demoOutput.join('\n')}`)))
  })
  profile = mkdtempSync(join(tmpdir(), 'datadog-apm-chromium-'))
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-gpu', '--no-first-run', '--disable-sync'],
    viewport: { width: 1440, height: 1000 }
  })
  page = context.pages()[0] ?? (await context.newPage())
  page.setDefaultTimeout(15_000)
}, { timeout: 20 * 60_000 })

after(async () => {
  await context?.close()
  if (profile !== '') rmSync(profile, { recursive: true, force: true })
  if (demo !== undefined && demo.exitCode === null) {
    demo.kill('SIGKILL')
    await once(demo, 'exit')
  }
})

test('the list shows the demo traces of both services', async () => {
  const pageErrors: string[] = []
  page.on('pageerror', (error) => pageErrors.push(error.message))
  await page.goto(pageUrl)
  await page.locator('tr.trace-row').nth(DEMO_REQUESTS - 1).waitFor()
  const rows = await textsOf('tr.trace-row')
  for (const resource of ['GET /shop/products/:id', 'GET /shop/checkout', 'POST /shop/orders']) {
    assert.ok(rows.some((text) => text.includes(resource)), `a row for ${resource}`)
  }
  assert.ok(rows.some((text) => text.includes('api')), 'the api service appears')
  assert.ok(rows.every((text) => text.includes('web')), 'every trace starts in web')
  const failing = await textsOf('tr.trace-row.has-error')
  assert.equal(failing.filter((text) => text.includes('POST /shop/orders')).length, 2, 'the failing orders are marked')
  // The unknown product's fetch got a 404, which marks its client span, as dd-trace does.
  assert.equal(failing.length, 3, failing.join('\n'))
  assert.deepEqual(pageErrors, [])
})

/** Whether "No traces yet" is on screen, and what the header counts. */
const emptyState = (): Promise<{ noTracesYet: boolean; message: string; visible: boolean; count: string; rows: number }> =>
  inPage(`(() => {
    const empty = document.getElementById('traces-empty')
    const visible = !empty.hidden && empty.offsetParent !== null
    return {
      noTracesYet: visible && empty.textContent.startsWith('No traces yet'),
      message: visible ? empty.textContent : '',
      visible,
      count: document.getElementById('count-traces').textContent,
      rows: document.querySelectorAll('tr.trace-row').length
    }
  })()`)

test('"No traces yet" never shows while the header counts traces, even when the list answers after the count', async () => {
  // The list answers 1.5 s late; the status (and so the count in the header) does not.
  await page.route('**/api/traces?*', async (route) => {
    const response = await route.fetch()
    await new Promise((resolve) => setTimeout(resolve, 1500))
    await route.fulfill({ response })
  })
  try {
    await page.goto(pageUrl)
    await waitInPage(`Number(document.getElementById('count-traces').textContent) >= ${DEMO_REQUESTS}`, 'the count in the header')
    const waiting = await emptyState()
    assert.equal(waiting.noTracesYet, false, `the count says ${waiting.count} while the list is on its way: ${JSON.stringify(waiting)}`)
    await page.locator('tr.trace-row').nth(DEMO_REQUESTS - 1).waitFor()
    assert.equal((await emptyState()).visible, false)
  } finally {
    await page.unroute('**/api/traces?*')
  }
})

test('a filter that matches nothing says so, naming the filter; clearing it brings the list back', async () => {
  await page.goto(pageUrl)
  await page.locator('tr.trace-row').nth(DEMO_REQUESTS - 1).waitFor()
  await page.fill('#filter-resource', 'GET /no-such-route')
  await page.waitForSelector('#traces-empty:not([hidden])')
  const state = await emptyState()
  assert.equal(state.rows, 0)
  assert.equal(state.noTracesYet, false)
  assert.match(state.message, /^No trace matches resource "GET \/no-such-route" \(\d+ traces held\)\.$/)
  assert.ok(Number(state.count) >= DEMO_REQUESTS, state.count)
  await page.selectOption('#filter-service', 'api')
  await waitInPage(`document.getElementById('traces-empty').textContent.includes('service api, resource')`, 'the message naming both filters')
  await page.fill('#filter-resource', '')
  await page.selectOption('#filter-service', '')
  await page.locator('tr.trace-row').nth(DEMO_REQUESTS - 1).waitFor()
  assert.equal((await emptyState()).visible, false)
})

test('typing a filter: an answer to an earlier keystroke that comes last does not replace the list', async () => {
  await page.goto(pageUrl)
  await page.locator('tr.trace-row').nth(DEMO_REQUESTS - 1).waitFor()
  // The answer for the half-typed resource (which matches nothing) is held until after the full one.
  let releaseStale: (() => void) | undefined
  const staleHeld = new Promise<void>((resolve) => (releaseStale = resolve))
  let staleServed: Promise<void> | undefined
  await page.route('**/api/traces?*', async (route) => {
    const resource = new URL(route.request().url()).searchParams.get('resource')
    const response = await route.fetch()
    if (resource === 'GET /shop/checkou') {
      staleServed = staleHeld.then(() => route.fulfill({ response }))
      return staleServed
    }
    await route.fulfill({ response })
  })
  try {
    await page.fill('#filter-resource', 'GET /shop/checkou')
    await page.fill('#filter-resource', 'GET /shop/checkout')
    await waitInPage(`document.querySelectorAll('tr.trace-row').length === 2`, 'the two checkout traces')
    const staleDone = page.waitForEvent('requestfinished', (request) => new URL(request.url()).searchParams.get('resource') === 'GET /shop/checkou')
    releaseStale?.()
    await staleServed
    await staleDone
    // The stale body has arrived whole; the page parses it and would draw it within a few tasks. What is
    // checked is that it does not, so there is no condition to wait on: a short settle stands in.
    await page.evaluate('new Promise((resolve) => setTimeout(resolve, 100))')
    const state = await emptyState()
    assert.equal(state.rows, 2, JSON.stringify(state))
    assert.equal(state.visible, false)
  } finally {
    await page.unroute('**/api/traces?*')
    await page.fill('#filter-resource', '')
  }
})

test('a list request that fails is asked again at the next poll, not left stale until the next trace', async () => {
  await page.goto(pageUrl)
  await page.locator('tr.trace-row').nth(DEMO_REQUESTS - 1).waitFor()
  let aborted = 0
  await page.route('**/api/traces?*', async (route) => {
    if (aborted === 0) {
      aborted++
      await route.abort()
    } else {
      await route.continue()
    }
  })
  try {
    const tracer = createTracer({ service: 'after-failure', url: new URL(pageUrl).origin, flushOnExit: false })
    tracer.trace('late.op', () => {})
    await tracer.flush()
    // The poll sees the new trace, its list request fails, and the next poll asks again.
    await page.waitForSelector('tr.trace-row:has-text("after-failure")', { timeout: 10_000 })
    assert.equal(aborted, 1)
  } finally {
    await page.unroute('**/api/traces?*')
  }
})

test('a click opens the waterfall: bars nest as the spans do, errors show their stack', async () => {
  await page.click('tr.trace-row:has-text("GET /shop/checkout")')
  await page.waitForSelector('#trace-head h2:has-text("GET /shop/checkout")')
  assert.match((await page.textContent('#trace-head')) ?? '', /^GET \/shop\/checkout[0-9a-f]{32}\d+ ms\d spansweb api $/)
  await page.click('tr.trace-row.has-error:has-text("POST /shop/orders")')
  await page.waitForSelector('#trace-head h2:has-text("POST /shop/orders")')
  await page.waitForSelector('.span-row')
  const spans = await inPage<Array<{ id: string; parent: string; depth: number; service: string; error: boolean; left: number; width: number; trackLeft: number; trackWidth: number }>>(`
    [...document.querySelectorAll('.span-row')].map((row) => {
      const bar = row.querySelector('.bar').getBoundingClientRect()
      const track = row.querySelector('.track').getBoundingClientRect()
      return {
        id: row.getAttribute('data-span-id'),
        parent: row.getAttribute('data-parent-id'),
        depth: Number(row.getAttribute('data-depth')),
        service: row.getAttribute('data-service'),
        error: row.classList.contains('error'),
        left: bar.left,
        width: bar.width,
        trackLeft: track.left,
        trackWidth: track.width
      }
    })`)
  assert.ok(spans.length >= 4, `the web request, its fetch, the api request and its span: ${spans.length}`)
  assert.equal(spans.filter((s) => s.depth === 0).length, 1, 'one root')
  assert.deepEqual([...new Set(spans.map((s) => s.service))].sort(), ['api', 'web'], 'one trace across both services')
  spans.forEach((span, index) => {
    if (span.depth === 0) return
    const parentIndex = spans.findIndex((s) => s.id === span.parent)
    assert.ok(parentIndex !== -1 && parentIndex < index, `span ${span.id} is drawn below its parent`)
    const parent = spans[parentIndex]
    assert.ok(parent)
    assert.equal(span.depth, parent.depth + 1, `span ${span.id} is indented one level under its parent`)
    // Within one process a child runs inside its parent, and so does its bar.
    if (span.service === parent.service) {
      assert.ok(span.left >= parent.left - 1.5 && span.left + span.width <= parent.left + parent.width + 1.5, `span ${span.id}'s bar lies within its parent's`)
    }
  })

  // Each bar sits on the time axis where the span's own times put it (cross-process spans included,
  // which may overhang their parent by the network's share: the page draws what was sent).
  const traceId = /^#\/trace\/(\d+)/.exec(new URL(page.url()).hash)?.[1]
  assert.ok(traceId, page.url())
  const { trace } = (await (await fetch(`${new URL(pageUrl).origin}/api/traces/${traceId}`)).json()) as { trace: { durationNs: number; spans: Array<{ span_id: string; offsetNs: number; duration: number }> } }
  assert.equal(trace.spans.length, spans.length)
  for (const data of trace.spans) {
    const drawn = spans.find((s) => s.id === data.span_id)
    assert.ok(drawn, `span ${data.span_id} is drawn`)
    const left = drawn.trackLeft + (data.offsetNs / trace.durationNs) * drawn.trackWidth
    const width = Math.max((data.duration / trace.durationNs) * drawn.trackWidth, 2)
    assert.ok(Math.abs(drawn.left - left) <= 1.5, `span ${data.span_id} starts at ${drawn.left}px, its time says ${left}px`)
    assert.ok(Math.abs(drawn.width - width) <= 1.5, `span ${data.span_id} is ${drawn.width}px wide, its duration says ${width}px`)
  }
  // The axis is the trace's extent, from the first start to the last end. In one process that is the
  // root's, but across two the api's span may end after web's (its response's 'close' comes after web
  // read the body) and each process has its own clock origin.
  const track = spans[0]
  assert.ok(track)
  const starts = Math.min(...spans.map((s) => s.left))
  const ends = Math.max(...spans.map((s) => s.left + s.width))
  assert.ok(Math.abs(starts - track.trackLeft) <= 1, `the first span starts the axis: ${starts} vs ${track.trackLeft}`)
  assert.ok(Math.abs(ends - (track.trackLeft + track.trackWidth)) <= 2.5, `the last span ends the axis: ${ends} vs ${track.trackLeft + track.trackWidth}`)

  const errorSpan = spans.find((s) => s.error && s.service === 'api' && s.depth > 1) ?? spans.find((s) => s.error)
  assert.ok(errorSpan, 'an error span is marked')
  await page.click(`.span-row[data-span-id="${errorSpan.id}"]`)
  const stack = await page.textContent('#span-detail pre.stack')
  assert.match(stack ?? '', /^\w*Error: .+\n\s+at /)
  await page.screenshot({ path: join(artifacts, 'page.png'), fullPage: true })
})

test("a product page's waterfall shows the api's inventory query with its statement", async () => {
  await page.goto(pageUrl)
  await page.click('tr.trace-row:has-text("GET /shop/products/:id")')
  await page.waitForSelector('.span-row[data-service="api-postgres"]')
  const text = (await page.textContent('.span-row[data-service="api-postgres"]')) ?? ''
  assert.match(text, /pg\.query/)
  assert.match(text, /SELECT stock FROM inventory WHERE product_id = \?/)
})

test('the summary lists requests, errors and latency per service and resource', async () => {
  await page.click('button[data-tab="summary"]')
  await page.waitForSelector('#summary tbody tr')
  const rows = await inPage<string[][]>(`[...document.querySelectorAll('#summary tbody tr')].map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent))`)
  const orders = rows.find((cells) => cells[0] === 'web' && cells[2] === 'POST /shop/orders')
  assert.ok(orders, JSON.stringify(rows))
  assert.equal(orders[3], '2')
  assert.match(orders[4] ?? '', /^2 \(100%\)$/)
  assert.match(orders[5] ?? '', /\d (ms|µs)$/)
  await page.screenshot({ path: join(artifacts, 'page-summary.png'), fullPage: true })
})

/**
 * Waits until `expression` is true in the page, reading it every 100 ms up to a deadline. (The page's
 * Content-Security-Policy forbids the eval that waitForFunction uses for a string predicate.)
 */
async function waitInPage(expression: string, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await inPage<boolean>(expression))) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

interface ChartLine { series: string; points: number; coords: Array<[number, number]> }
interface Chart { id: string; metric: string; top: number; start: number; end: number; lines: ChartLine[]; legend: string[] }

/** Every chart on the Metrics view: its data attributes, and each line's points in SVG coordinates. */
const charts = (): Promise<Chart[]> =>
  inPage<Chart[]>(`[...document.querySelectorAll('#metric-charts .chart')].map((figure) => ({
    id: figure.getAttribute('data-chart'),
    metric: figure.getAttribute('data-metric'),
    top: Number(figure.getAttribute('data-top')),
    start: Number(figure.getAttribute('data-start')),
    end: Number(figure.getAttribute('data-end')),
    lines: [...figure.querySelectorAll('[data-series][data-points]')].map((shape) => ({
      series: shape.getAttribute('data-series'),
      points: Number(shape.getAttribute('data-points')),
      coords: shape.tagName === 'circle'
        ? [[Number(shape.getAttribute('cx')), Number(shape.getAttribute('cy'))]]
        : shape.getAttribute('points').split(' ').map((pair) => pair.split(',').map(Number))
    })),
    legend: [...figure.querySelectorAll('.legend-item')].map((item) => item.textContent)
  }))`)

test('the Metrics view: per process, charts of its runtime metrics and the custom counter, updating live', async () => {
  const pageErrors: string[] = []
  page.on('pageerror', (error) => pageErrors.push(error.message))
  const origin = new URL(pageUrl).origin
  await page.goto(pageUrl)
  await page.click('button[data-tab="metrics"]')
  await page.waitForSelector('button.process[data-service="web"]')
  await page.waitForSelector('button.process[data-service="api"]')
  await page.click('button.process[data-service="web"]')
  await page.waitForSelector('button.process.selected[data-service="web"]')
  const { processes } = (await (await fetch(`${origin}/api/metrics`)).json()) as { processes: Array<{ service: string; runtimeId: string }> }
  const web = processes.find((p) => p.service === 'web')
  assert.ok(web)
  assert.equal(new URL(page.url()).hash, `#/metrics/web/${web.runtimeId}`)
  await page.waitForSelector('.chart[data-chart="rss"] polyline, .chart[data-chart="rss"] circle')
  const drawn = await charts()
  assert.deepEqual(drawn.filter((c) => c.id !== 'custom').map((c) => c.id), ['event-loop-delay', 'heap-used', 'gc-pause', 'cpu', 'rss', 'event-loop-utilization'])
  for (const id of ['heap-used', 'cpu', 'rss', 'event-loop-utilization']) {
    assert.ok(drawn.find((c) => c.id === id)?.lines.some((l) => l.points > 0), `${id} has a line`)
  }
  assert.deepEqual(drawn.find((c) => c.id === 'cpu')?.lines.map((l) => l.series), ['total', 'user', 'system'])

  // The newest RSS point sits where its time and value put it, on the chart's axes (320 x 110, plot inset 44/8/8/18).
  const rssChart = drawn.find((c) => c.id === 'rss')
  assert.ok(rssChart)
  const { series } = (await (await fetch(`${origin}/api/metrics/series?service=web&runtimeId=${web.runtimeId}&name=runtime.node.mem.rss`)).json()) as { series: Array<{ points: Array<[number, number]> }> }
  const rssLine = rssChart.lines[0]
  assert.ok(rssLine && series[0])
  const point = series[0].points[rssLine.points - 1]
  assert.ok(point)
  const [x, y] = rssLine.coords[rssLine.points - 1] ?? [NaN, NaN]
  assert.ok(Math.abs(x - (44 + ((point[0] - rssChart.start) / (rssChart.end - rssChart.start)) * 268)) <= 0.2, `x ${x}`)
  assert.ok(Math.abs(y - (8 + 84 - (point[1] / rssChart.top) * 84)) <= 0.2, `y ${y}`)
  assert.ok(rssChart.top >= point[1] && rssChart.top < point[1] * 5, `the axis top ${rssChart.top} fits ${point[1]}`)

  // The custom counter: one line per tag set, named by its own tags.
  const views = drawn.find((c) => c.metric === 'shop.product.views')
  assert.ok(views, drawn.map((c) => c.metric).join(', '))
  assert.ok(views.legend.some((text) => text.startsWith('in_stock:true')), views.legend.join(' | '))

  // Live: the services flush every 2 s, and the chart takes the new points without a reload.
  const before = rssLine.points
  await waitInPage(`Number(document.querySelector('.chart[data-chart="rss"] [data-points]').getAttribute('data-points')) > ${before}`, 'a new RSS point')
  await page.screenshot({ path: join(artifacts, 'page-metrics.png'), fullPage: true })

  // Another process: its own charts, and no custom chart it did not send.
  await page.click('button.process[data-service="api"]')
  await page.waitForSelector('button.process.selected[data-service="api"]')
  await waitInPage(`!document.querySelector('.chart[data-metric="shop.product.views"]')`, 'the web-only chart to go')
  await page.waitForSelector('.chart[data-chart="rss"] [data-points]', { state: 'attached' })

  // Metric names and tags come from clients: text, never markup.
  const evil = '<img src=x onerror="window.__pwnedMetrics=1">'
  const sent = await fetch(`${origin}/dogstatsd/v2/proxy`, { method: 'POST', body: `${evil}:1|c|#service:hostile-metrics,runtime-id:r-evil,${evil}:x\n` })
  assert.equal(sent.status, 200)
  await page.waitForSelector('button.process[data-service="hostile-metrics"]')
  await page.click('button.process[data-service="hostile-metrics"]')
  await page.waitForSelector('.chart[data-chart="custom"]')
  assert.ok(((await page.textContent('#metric-charts')) ?? '').includes(evil))
  assert.equal(await page.locator('#metric-charts img, #metric-processes img').count(), 0)
  assert.equal(await inPage<unknown>('window.__pwnedMetrics'), undefined)
  assert.deepEqual(pageErrors, [])
})

test('span tags are shown as text, never run as markup', async () => {
  const origin = new URL(pageUrl).origin
  const tracer = createTracer({ service: 'hostile', url: origin, flushOnExit: false })
  const evil = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>'
  tracer.trace('evil.op', { resource: evil, tags: { [evil]: evil, 'error.stack': evil } }, (span) => {
    span.setTag('error', 1)
  })
  await tracer.flush()
  const list = (await (await fetch(`${origin}/api/traces?service=hostile`)).json()) as { traces: Array<{ traceId: string }> }
  const traceId = list.traces[0]?.traceId
  assert.ok(traceId)
  await page.goto(`${pageUrl}#/trace/${traceId}`)
  await page.waitForSelector('.span-row[data-service="hostile"]')
  await page.click('.span-row[data-service="hostile"]')
  assert.equal(await page.textContent('#span-detail pre.stack'), evil)
  assert.ok(((await page.textContent('#waterfall')) ?? '').includes(evil))
  assert.equal(await inPage<unknown>('window.__pwned'), undefined)
  assert.equal(await page.locator('#detail img, #detail script, #traces img').count(), 0)
})

test('SQL is shown obfuscated, as the agent shows it, though the tracer sent it as written', async () => {
  const origin = new URL(pageUrl).origin
  const tracer = createTracer({ service: 'sql-app', url: origin, flushOnExit: false })
  const statement = "SELECT * FROM users WHERE email = 'ann@example.com' AND id IN (7, 8, 9)"
  tracer.trace('pg.query', { type: 'sql', resource: statement }, () => {})
  await tracer.flush()
  const list = (await (await fetch(`${origin}/api/traces?service=sql-app`)).json()) as { traces: Array<{ traceId: string }> }
  const traceId = list.traces[0]?.traceId
  assert.ok(traceId)
  const { trace } = (await (await fetch(`${origin}/api/traces/${traceId}`)).json()) as { trace: { spans: Array<{ resource_raw?: string }> } }
  assert.equal(trace.spans[0]?.resource_raw, statement, 'the tracer sent the statement as written')
  await page.goto(`${pageUrl}#/trace/${traceId}`)
  await page.waitForSelector('.span-row[data-service="sql-app"]')
  await page.click('.span-row[data-service="sql-app"]')
  const shown = 'SELECT * FROM users WHERE email = ? AND id IN ( ? )'
  assert.equal(await page.textContent('#span-detail .resource'), shown)
  assert.ok(((await page.textContent('#waterfall')) ?? '').includes(shown))
  const body = (await page.textContent('body')) ?? ''
  assert.ok(body.includes(`sql.query${shown}`), 'sql.query holds the obfuscated statement')
  assert.ok(!body.includes('ann@example.com'), 'no literal of the statement reaches the page')
})

test('a span\'s events and links are listed beside its tags, and its events marked on its bar', async () => {
  const origin = new URL(pageUrl).origin
  const tracer = createTracer({ service: 'extras-app', url: origin, flushOnExit: false })
  const upstream = tracer.extract({ traceparent: '00-640cfd8d0000000000000000000000ab-00000000000000cd-01', tracestate: 'dd=s:2,vendor=abc' })
  assert.ok(upstream)
  tracer.trace('batch.process', (span) => {
    span.addEvent('item.read', { index: 3, key: '<b>k</b>' })
    span.recordException(new RangeError('out of range'))
    span.addLink(upstream, { reason: 'batch' })
  })
  await tracer.flush()
  const list = (await (await fetch(`${origin}/api/traces?service=extras-app`)).json()) as { traces: Array<{ traceId: string }> }
  const traceId = list.traces[0]?.traceId
  assert.ok(traceId)
  await page.goto(`${pageUrl}#/trace/${traceId}`)
  await page.waitForSelector('.span-row[data-service="extras-app"]')
  await page.click('.span-row[data-service="extras-app"]')
  await page.waitForSelector('#span-detail .event')
  assert.deepEqual(await textsOf('#span-detail .event .event-name'), ['item.read', 'exception'])
  const events = (await page.textContent('#span-detail .events')) ?? ''
  assert.ok(events.includes('index3') && events.includes('key<b>k</b>'), events)
  assert.ok(events.includes('exception.typeRangeError') && events.includes('exception.messageout of range'), events)
  assert.deepEqual(await textsOf('#span-detail .link a.trace-link'), ['640cfd8d0000000000000000000000ab'])
  const link = (await page.textContent('#span-detail .link')) ?? ''
  assert.ok(link.includes('span_id00000000000000cd') && link.includes('tracestatedd=s:2,vendor=abc') && link.includes('reasonbatch'), link)
  assert.equal(await page.locator('.span-row[data-service="extras-app"] .bar .event-mark').count(), 2)
  assert.equal(await page.locator('#span-detail b').count(), 0, 'attribute values are text')
  await page.screenshot({ path: join(artifacts, 'page-events-links.png'), fullPage: true })
  await page.click('#span-detail .link a.trace-link')
  await page.waitForFunction(`location.hash === '#/trace/171'`)
})

test('Ctrl-C on the terminal stops the demo: services and intake, one goodbye line, exit 0 (no signal, so pnpm sees a success)', async () => {
  assert.ok(demo?.stdin)
  const exited = once(demo, 'exit') as Promise<[number | null]>
  demo.stdin.write('\u0003')
  const [code] = await exited
  assert.equal(code, 0, demoOutput.join('\n'))
  assert.ok(!demoOutput.includes(SIGINT_SEEN), 'Ctrl-C reached the demo as a key, not as a signal to the whole terminal')
  const goodbye = demoOutput.filter((line) => line.includes('stopping the services'))
  assert.deepEqual(goodbye, ['stopping the services and the intake... done. Bye.'], demoOutput.slice(-10).join('\n'))
  await assert.rejects(fetch(pageUrl))
})
