// Open-loop load at a fixed rate: requests are due at start + i/rate whether or not earlier ones were
// answered. Keep-alive connections on loopback; a due request takes an idle connection, or waits for one
// and then its latency runs from when it was due (a server that stalls is charged for the requests that
// queued behind it, which wrk's closed loop hides). A request sent at once is timed from its write, so
// this process's own timer granularity (~1 ms) is not charged to the server. Responses must carry
// content-length.
// --spread: a due request takes the connection idle the longest (not the one idle the shortest), so every
// connection carries one request every connections / rate seconds, as behind a load balancer that keeps
// many connections open; what a server keeps per idle connection then shows in its memory.
// Usage: node bench/load.mjs URL RATE SECONDS [--warmup S] [--connections N] [--spread]
// Prints one JSON line: offered and completed rates, latency percentiles in ms, errors.
import { connect } from 'node:net'
import { performance } from 'node:perf_hooks'

const [target, rateText, secondsText, ...rest] = process.argv.slice(2)
const option = (name, fallback) => {
  const i = rest.indexOf(name)
  return i === -1 ? fallback : Number(rest[i + 1])
}
const url = new URL(target)
const rate = Number(rateText)
const seconds = Number(secondsText)
const warmup = option('--warmup', 2)
const connections = option('--connections', 64)
const spread = rest.includes('--spread')
if (!(rate > 0) || !(seconds > 0)) {
  console.error('usage: node bench/load.mjs URL RATE SECONDS [--warmup S] [--connections N] [--spread]')
  process.exit(2)
}

const request = Buffer.from(`GET ${url.pathname}${url.search} HTTP/1.1\r\nHost: ${url.host}\r\nUser-Agent: bench-load\r\n\r\n`, 'latin1')
const total = Math.round(rate * (warmup + seconds))
const latencies = new Float64Array(Math.round(rate * seconds) + 1)
let recorded = 0
let completed = 0
let errors = 0
let sent = 0
const backlog = [] // due times of requests waiting for a connection
const idle = []
const conns = []
let start = 0

function record(due, now) {
  completed++
  if (due >= start + warmup * 1000 && recorded < latencies.length) latencies[recorded++] = now - due
}

function open() {
  const socket = connect(Number(url.port), url.hostname)
  socket.setNoDelay(true)
  const conn = { socket, due: 0, busy: false, buffer: Buffer.alloc(0), expect: -1 }
  conns.push(conn)
  socket.on('connect', () => {
    idle.push(conn)
    pump()
  })
  socket.on('data', (data) => {
    conn.buffer = conn.buffer.length === 0 ? data : Buffer.concat([conn.buffer, data])
    for (;;) {
      if (conn.expect < 0) {
        const end = conn.buffer.indexOf('\r\n\r\n')
        if (end === -1) return
        const head = conn.buffer.toString('latin1', 0, end)
        const length = /\r\ncontent-length:\s*(\d+)/i.exec(head)
        if (length === null || !head.startsWith('HTTP/1.1 200')) errors++
        conn.expect = end + 4 + Number(length?.[1] ?? 0)
      }
      if (conn.buffer.length < conn.expect) return
      conn.buffer = conn.buffer.subarray(conn.expect)
      conn.expect = -1
      record(conn.due, performance.now())
      conn.busy = false
      const next = backlog.shift()
      if (next !== undefined) send(conn, next)
      else idle.push(conn)
    }
  })
  socket.on('error', () => {
    errors++
  })
}

function send(conn, due) {
  conn.busy = true
  conn.due = due
  conn.socket.write(request)
}

function pump() {
  if (start === 0) return
  const now = performance.now()
  const due = Math.min(total, Math.floor(((now - start) * rate) / 1000) + 1)
  for (; sent < due; sent++) {
    const at = start + (sent * 1000) / rate
    const conn = spread ? idle.shift() : idle.pop()
    if (conn === undefined) backlog.push(at)
    else send(conn, now)
  }
}

for (let i = 0; i < connections; i++) open()
await new Promise((resolve) => setTimeout(resolve, 200))
start = performance.now()
const ticker = setInterval(pump, 1)
await new Promise((resolve) => setTimeout(resolve, (warmup + seconds) * 1000 + 20))
clearInterval(ticker)
const end = performance.now()
const answered = recorded // answered requests due after the warm-up
// Requests still unanswered count at their age now: a saturated server shows as such.
for (const at of [...backlog, ...conns.filter((c) => c.busy).map((c) => c.due)]) {
  if (at >= start + warmup * 1000 && recorded < latencies.length) latencies[recorded++] = end - at
}
const sorted = latencies.subarray(0, recorded).sort()
const at = (q) => (recorded === 0 ? NaN : sorted[Math.min(recorded - 1, Math.floor(q * recorded))])
process.stdout.write(
  JSON.stringify({
    offered: rate,
    completedPerSecond: completed / (warmup + seconds),
    unanswered: sent - completed,
    measured: answered,
    p50: at(0.5),
    p90: at(0.9),
    p99: at(0.99),
    p999: at(0.999),
    max: at(1),
    errors
  }) + '\n'
)
process.exit(0)
