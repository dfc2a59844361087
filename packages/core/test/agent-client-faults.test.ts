import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { Client } from 'undici'
import { SocketTransport } from '../src/agent-client/socket-transport.js'
import { BODY_PIECE_BYTES, MAX_RESPONSE_BYTES, type TransportResponse } from '../src/agent-client/transport.js'
import { faultAgent, firstForeignByte, payloadBytes, until, type AgentRequest, type AgentSide, type FaultAgent, type Script } from './support/fault-agent.js'

// The fault suite: a misbehaving agent on a real socket, and the same cases through our client and
// through undici with equivalent settings (one connection kept alive, the same timeout, the same header
// and answer limits). For each case and client: the outcome, whether any body the agent received
// carries a foreign byte (the payload buffer is overwritten the moment a send settles, as the
// exporter's pool does), whether a payload sent right after goes through, and whether the pool ends
// empty or sound. Ours must meet the contract in agent-client/transport.ts on every case, and be at
// least as good as undici on each; undici's outcomes are recorded, not required.
//
// Recorded on Node 20.20 and 24.22 with undici 7.30 (the run prints its own table as test diagnostics;
// "ok" = the outcome expected, every body clean, the next payload through, the pool sound):
//
// | case                               | ours                                   | undici                                       |
// |------------------------------------|----------------------------------------|----------------------------------------------|
// | early 200 on the head, drains late | 200 once the body is out: ok           | 200 at once; the body's queued rest leaves   |
// |   (8 MiB)                          |                                        | from the reused buffer: FOREIGN bytes        |
// | early 413 on the head, drains late | 413 once the body is out: ok           | 413 at once: ok (2 MiB fits in the kernel's  |
// |   (2 MiB)                          |                                        | buffers, nothing was left queued)            |
// | early 413 + close (a Go agent)     | 413: ok                                | 413: ok                                      |
// | early 413, stops reading           | 413 at the timeout; next payload on a  | 413 at once; the next payload waits behind   |
// |                                    | new connection: ok                     | the stuck body: UND_ERR_HEADERS_TIMEOUT      |
// | 200 after 64 KiB, reads on         | 200, whole body: ok                    | 200: ok                                      |
// | reset mid-body                     | ECONNRESET, not-sent: ok               | ECONNRESET (no stage): ok                    |
// | reset after the body               | ECONNRESET, maybe-delivered: ok        | ECONNRESET (no stage): ok                    |
// | stall past the timeout             | ETIMEDOUT, maybe-delivered: ok         | TimeoutError: ok                             |
// | answer a byte per packet           | 200: ok                                | 200: ok                                      |
// | chunked, odd sizes and pieces      | 200, body exact: ok                    | 200, body exact: ok                          |
// | head over 64 KiB                   | ERR_AGENT_RESPONSE, maybe-delivered: ok| UND_ERR_HEADERS_OVERFLOW: ok                 |
// | garbage                            | ERR_AGENT_RESPONSE, maybe-delivered: ok| HTTPParserError: ok                          |
// | close after the status line        | ECONNRESET, maybe-delivered: ok        | UND_ERR_SOCKET: ok                           |
// | reused connection reset after body | ECONNRESET, maybe-delivered, not sent  | ECONNRESET: ok                               |
// |                                    | again: ok                              |                                              |
// | reused connection reset mid-body   | sent again on a new connection: 200    | ECONNRESET: the caller must send it again,   |
// |                                    |                                        | with no way to know that is safe             |
// | agent does not read the body       | ETIMEDOUT, not-sent; one piece queued  | TimeoutError: ok (the whole body queued on   |
// |                                    | at most: ok                            | the socket until then)                       |
// | a stray answer right behind a      | 200; the next payload waits a turn and | 200: ok (undici waits a turn too)            |
// |   64 KiB one, same write           | goes on a new connection: ok           |                                              |
// | stray bytes after the answer       | 200; the next payload on a new         | 200: ok                                      |
// |                                    | connection: ok                         |                                              |
//
// Where undici does better: an early answer settles its send at once, where ours waits for the body to
// go out (up to the timeout when the agent stops reading); its errors tell more kinds apart. Where it
// does worse: it settles while its socket still holds the body, so a reused buffer leaks into the
// agent's copy; a stuck early-answered body blocks the next request; no failure says how far the
// request got; nothing is sent again for the caller.

/**
 * The timeout of the cases that are meant to run into it: long enough that a loaded machine stalling
 * the loop for a few hundred milliseconds does not change how far a request got when it fires.
 */
const SHORT_MS = 1500
/** The timeout of the others: long enough for 8 MiB on a loaded machine. */
const LONG_MS = 3000
const OK = 'HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 22\r\n\r\n{"rate_by_service":{}}'
const TOO_LARGE = 'HTTP/1.1 413 Request Entity Too Large\r\ncontent-length: 17\r\n\r\npayload-too-large'

/** A 200 answer of exactly 65,536 bytes, one socket read. */
const EXACT_READ = (() => {
  const head = 'HTTP/1.1 200 OK\r\ncontent-length: 65494\r\n\r\n'
  return head + 'f'.repeat(65536 - head.length)
})()

type Ctx = { after: (fn: () => Promise<void> | void) => void; diagnostic: (message: string) => void }

/** What a send came to: a status and body, or a rejection's code and stage. */
interface Outcome {
  readonly status?: number
  readonly body?: string
  readonly code?: string
  readonly stage?: string
  readonly ms: number
}

/** A client under test, ours or undici, behind one shape. */
interface ClientUnderTest {
  readonly name: 'ours' | 'undici'
  send(id: number, body: Buffer, timeoutMs: number): Promise<TransportResponse>
  /** Undefined when the pool is empty or every connection in it is idle; else what is still busy. */
  busy(): string | undefined
  close(): Promise<void>
}

function ours(url: URL, _timeoutMs: number): ClientUnderTest {
  const transport = new SocketTransport(url)
  return {
    name: 'ours',
    send: (id, body, timeoutMs) => transport.send('/v0.4/traces', 'PUT', { 'x-payload': String(id) }, body, timeoutMs),
    busy: () => {
      const { busy } = transport.connections()
      return busy === 0 ? undefined : `${busy} busy`
    },
    close: () => transport.close()
  }
}

function undici(url: URL, timeoutMs: number): ClientUnderTest {
  const client = new Client(url.origin, {
    pipelining: 1,
    keepAliveTimeout: 4000,
    keepAliveMaxTimeout: 4000,
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
    maxHeaderSize: 64 * 1024,
    maxResponseSize: MAX_RESPONSE_BYTES,
    connect: { timeout: timeoutMs, rejectUnauthorized: false }
  })
  return {
    name: 'undici',
    send: async (id, body, timeoutMs) => {
      const signal = AbortSignal.timeout(timeoutMs)
      const response = await client.request({ path: '/v0.4/traces', method: 'PUT', headers: { 'x-payload': String(id) }, body, signal })
      return { status: response.statusCode, headers: {}, body: await response.body.text() }
    },
    busy: () => {
      const { running, pending } = client.stats
      return running + pending === 0 ? undefined : `${running} running, ${pending} pending`
    },
    close: () => client.destroy()
  }
}

/**
 * Sends payload `id` of `size` bytes from the shared `pool` buffer and overwrites the buffer the moment
 * the send settles, as the exporter's pool does when it hands the buffer to the next payload.
 */
async function sendPooled(client: ClientUnderTest, id: number, pool: Buffer, size: number, timeoutMs: number): Promise<Outcome> {
  const body = payloadBytes(id, size, pool.subarray(0, size))
  const started = performance.now()
  try {
    const answer = await client.send(id, body, timeoutMs)
    return { status: answer.status, body: answer.body, ms: Math.round(performance.now() - started) }
  } catch (err) {
    // undici's timeouts are DOMExceptions, whose code is a number: their name says more.
    const e = err as { code?: unknown; name?: unknown; stage?: unknown }
    return { code: String(typeof e.code === 'string' ? e.code : e.name), stage: typeof e.stage === 'string' ? e.stage : undefined, ms: Math.round(performance.now() - started) }
  } finally {
    body.fill(0xee)
  }
}

/** The payload a case's fault is for; every other one is answered 200 once its body is in. */
interface Target {
  id: number
}

function onlyFor(target: Target, fault: Script): Script {
  const hit = (request: AgentRequest) => Number(request.headers['x-payload']) === target.id
  return {
    head: (request, side) => {
      if (hit(request)) fault.head?.(request, side)
    },
    body: (request, side) => {
      if (hit(request)) fault.body?.(request, side)
    },
    request: (request, side) => {
      if (hit(request)) fault.request?.(request, side)
      else side.write(OK)
    }
  }
}

/** Writes `text` one byte per turn of the event loop, each byte in a packet of its own. */
function trickle(side: AgentSide, text: string): void {
  side.socket.setNoDelay(true)
  let at = 0
  const next = () => {
    if (at >= text.length || side.socket.destroyed) return
    side.write(text[at++])
    setImmediate(next)
  }
  next()
}

const chunkSizes = [1, 3, 7, 0x1f, 250, 1, 4093]
const chunkedBody = chunkSizes.map((n, i) => String.fromCharCode(97 + i).repeat(n)).join('')
const chunkedAnswer =
  'HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n' +
  chunkSizes.map((n, i) => `${n.toString(16)}${i === 2 ? ';ext=1' : ''}\r\n${String.fromCharCode(97 + i).repeat(n)}\r\n`).join('') +
  '0\r\nx-trailer: yes\r\n\r\n'

interface Expected {
  readonly status?: number
  readonly body?: string
  readonly codes?: readonly string[]
  readonly stage?: 'not-sent' | 'maybe-delivered'
  /** The agent must end up with every byte of the faulty payload. */
  readonly whole?: boolean
}

interface FaultCase {
  readonly name: string
  /** Requests answered normally before the faulty one (1: the fault hits a reused connection). */
  readonly before?: number
  readonly size: number
  /** LONG_MS unless the case is meant to run into its timeout. */
  readonly timeoutMs?: number
  readonly fault: () => Script
  /** What our client must come to. */
  readonly expect: Expected
}

const cases: FaultCase[] = [
  {
    // As a proxy might: the answer from the head, the body drained a little later.
    name: 'early 200 on the head, drains late',
    size: 8 << 20,
    fault: () => ({
      head: (_r, side) => {
        side.write(OK)
        side.pauseFor(100)
      }
    }),
    expect: { status: 200, whole: true }
  },
  {
    name: 'early 413 on the head, drains late',
    size: 2 << 20,
    fault: () => ({
      head: (_r, side) => {
        side.write(TOO_LARGE)
        side.pauseFor(100)
      }
    }),
    expect: { status: 413, body: 'payload-too-large', whole: true }
  },
  {
    // What the Go agent does past a few hundred KiB it will not read: the answer, a FIN, then the close.
    name: 'early 413 + close (a Go agent)',
    size: 2 << 20,
    fault: () => ({
      head: (_r, side) => {
        side.socket.end(TOO_LARGE.replace('\r\n', '\r\nconnection: close\r\n'))
        setTimeout(() => side.socket.destroy(), 50)
      }
    }),
    expect: { status: 413 }
  },
  {
    name: 'early 413 on the head, stops reading',
    timeoutMs: SHORT_MS,
    size: 8 << 20,
    fault: () => ({
      head: (_r, side) => {
        side.write(TOO_LARGE)
        side.socket.pause()
      }
    }),
    expect: { status: 413 }
  },
  {
    name: '200 after 64 KiB, reads on',
    size: 2 << 20,
    fault: () => {
      const answered = new WeakSet<AgentRequest>()
      return {
        body: (request, side) => {
          if (!answered.has(request) && request.received >= BODY_PIECE_BYTES) {
            answered.add(request)
            side.write(OK)
          }
        }
      }
    },
    expect: { status: 200, whole: true }
  },
  {
    name: 'reset mid-body',
    size: 4 << 20,
    fault: () => ({ body: (request, side) => request.received >= 512 << 10 && side.reset() }),
    expect: { codes: ['ECONNRESET', 'EPIPE'], stage: 'not-sent' }
  },
  {
    name: 'reset after the body',
    size: 256 << 10,
    fault: () => ({ request: (_r, side) => side.reset() }),
    expect: { codes: ['ECONNRESET'], stage: 'maybe-delivered' }
  },
  {
    name: 'stall past the timeout, then answer',
    timeoutMs: SHORT_MS,
    size: 64 << 10,
    fault: () => ({ request: (_r, side) => setTimeout(() => side.write(OK), SHORT_MS + 500) }),
    expect: { codes: ['ETIMEDOUT'], stage: 'maybe-delivered' }
  },
  {
    name: 'answer trickled a byte at a time',
    size: 64 << 10,
    fault: () => ({ request: (_r, side) => trickle(side, OK) }),
    expect: { status: 200, body: '{"rate_by_service":{}}' }
  },
  {
    name: 'chunked, odd chunk sizes, in odd pieces',
    size: 64 << 10,
    fault: () => ({
      request: (_r, side) => {
        for (let at = 0, n = 1; at < chunkedAnswer.length; at += n, n = (n * 7) % 23 || 5) side.write(chunkedAnswer.slice(at, at + n))
      }
    }),
    expect: { status: 200, body: chunkedBody }
  },
  {
    name: 'head over 64 KiB',
    size: 64 << 10,
    fault: () => ({ request: (_r, side) => side.write(`HTTP/1.1 200 OK\r\nx-long: ${'b'.repeat(70 * 1024)}\r\ncontent-length: 0\r\n\r\n`) }),
    expect: { codes: ['ERR_AGENT_RESPONSE'], stage: 'maybe-delivered' }
  },
  {
    name: 'garbage',
    size: 64 << 10,
    fault: () => ({ request: (_r, side) => side.write('\u0000\u0013 garbage\r\n\r\nmore garbage') }),
    expect: { codes: ['ERR_AGENT_RESPONSE'], stage: 'maybe-delivered' }
  },
  {
    name: 'close right after the status line',
    size: 64 << 10,
    fault: () => ({ request: (_r, side) => side.socket.end('HTTP/1.1 200 OK\r\n') }),
    expect: { codes: ['ECONNRESET'], stage: 'maybe-delivered' }
  },
  {
    name: 'reused connection reset after the body',
    before: 1,
    size: 64 << 10,
    fault: () => ({ request: (_r, side) => side.reset() }),
    expect: { codes: ['ECONNRESET'], stage: 'maybe-delivered' }
  },
  {
    name: 'reused connection reset mid-body',
    before: 1,
    size: 4 << 20,
    // Only on the reused connection: the request sent again on a new one is answered.
    fault: () => ({
      head: (request, side) => request.before > 0 && side.reset(),
      request: (_r, side) => side.write(OK)
    }),
    expect: { status: 200, whole: true }
  },
  {
    name: 'agent does not read the body',
    timeoutMs: SHORT_MS,
    size: 8 << 20,
    fault: () => ({ head: (_r, side) => side.socket.pause() }),
    expect: { codes: ['ETIMEDOUT'], stage: 'not-sent' }
  },
  {
    // An answer of exactly one socket read (64 KiB) with a stray answer behind it in the same write:
    // the client reads them in two reads of one turn, and the next payload goes out between the two.
    name: 'a stray answer right behind a 64 KiB one',
    size: 64 << 10,
    fault: () => ({ request: (_r, side) => side.write(EXACT_READ + 'HTTP/1.1 299 Stray\r\ncontent-length: 5\r\n\r\nstray') }),
    expect: { status: 200 }
  },
  {
    name: 'stray bytes after the answer',
    size: 64 << 10,
    fault: () => ({
      request: (_r, side) => {
        side.write(OK)
        setTimeout(() => side.write('HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nstray'), 5)
      }
    }),
    expect: { status: 200 }
  }
]

/** One case through one client, as a row of the table. */
interface Row {
  readonly outcome: Outcome
  /** The agent had every byte of the faulty payload by the end. */
  readonly whole: boolean
  /** Payloads whose body at the agent carries a byte that is not theirs. */
  readonly foreign: number[]
  /** What the payload sent right after the faulty one came to. */
  readonly next: Outcome
  /** Undefined when the pool ended empty or idle. */
  readonly busy: string | undefined
  /** The agent had nothing more to wait for: every request complete or its connection closed. */
  readonly quiet: boolean
}

interface Setup {
  readonly agent: FaultAgent
  readonly client: ClientUnderTest
  readonly pool: Buffer
  readonly target: Target
}

async function setup(t: Ctx, c: FaultCase, make: (url: URL, timeoutMs: number) => ClientUnderTest, size = c.size): Promise<Setup> {
  const target: Target = { id: 0 }
  const agent = await faultAgent(t, onlyFor(target, c.fault()))
  const client = make(agent.url, c.timeoutMs ?? LONG_MS)
  t.after(() => client.close())
  return { agent, client, pool: Buffer.alloc(size), target }
}

/** The case once: the payloads before the faulty one, the faulty one, and one right after it. */
async function run({ agent, client, pool, target }: Setup, c: FaultCase, firstId = 1): Promise<Row> {
  agent.requests.length = 0
  let id = firstId
  for (let i = 0; i < (c.before ?? 0); i++) await sendPooled(client, id++, pool, 1000, LONG_MS)
  target.id = id
  const outcome = await sendPooled(client, id++, pool, pool.length, c.timeoutMs ?? LONG_MS)
  const next = await sendPooled(client, id++, pool, 64 << 10, LONG_MS)
  // Whatever the client still had queued arrives, or its connection is gone (a client that keeps a
  // connection open under a body it never finished leaves the agent waiting: a second is enough to tell).
  agent.resume()
  const quiet = await until(() => agent.quiet(), 'a quiet agent', 1000).then(
    () => true,
    () => false
  )
  const foreign: number[] = []
  for (const request of agent.requests) {
    const payload = Number(request.headers['x-payload'])
    if (firstForeignByte(payload, request.contentLength, request.body()) !== -1) foreign.push(payload)
  }
  const whole = agent.requests.some((r) => Number(r.headers['x-payload']) === target.id && r.complete)
  return { outcome, whole, foreign, next, busy: client.busy(), quiet }
}

/** True when a row meets `expect` (a stage is asked only of a client that gives one). */
function meets(row: Row, expect: Expected, withStage: boolean): boolean {
  const o = row.outcome
  const outcome =
    expect.status !== undefined
      ? o.status === expect.status && (expect.body === undefined || o.body === expect.body)
      : o.status === undefined && (!withStage || (expect.codes!.includes(o.code!) && o.stage === expect.stage))
  return outcome && (!expect.whole || row.whole) && row.foreign.length === 0 && row.next.status === 200 && row.busy === undefined && row.quiet
}

function describe(row: Row): string {
  const o = row.outcome
  const result = o.status !== undefined ? `${o.status}` : `${o.code}${o.stage === undefined ? '' : `/${o.stage}`}`
  const next = row.next.status !== undefined ? `${row.next.status}` : `${row.next.code}`
  const foreign = row.foreign.length === 0 ? 'clean' : `FOREIGN in ${row.foreign.join(',')}`
  return `${result} in ${o.ms} ms, body ${row.whole ? 'whole' : 'not whole'}, ${foreign}, next ${next}, pool ${row.busy ?? 'sound'}${row.quiet ? '' : ', agent left waiting'}`
}

test('fault suite: ours meets the contract on every case, and does at least as well as undici on each', async (t) => {
  // One case at a time, both clients side by side; the cases that wait out their timeout together.
  const both = async (c: FaultCase) => {
    const [mine, theirs] = await Promise.all([run(await setup(t, c, ours), c), run(await setup(t, c, undici), c)])
    return { c, ours: mine, undici: theirs }
  }
  const results: { c: FaultCase; ours: Row; undici: Row }[] = []
  for (const c of cases) if (c.timeoutMs === undefined) results.push(await both(c))
  results.push(...(await Promise.all(cases.filter((c) => c.timeoutMs !== undefined).map(both))))
  const failures: string[] = []
  for (const { c, ours: mine, undici: theirs } of results) {
    const oursOk = meets(mine, c.expect, true)
    const undiciOk = meets(theirs, c.expect, false)
    t.diagnostic(`${c.name.padEnd(40)} ours ${oursOk ? 'ok ' : 'BAD'} ${describe(mine)}`)
    t.diagnostic(`${''.padEnd(40)} undici ${undiciOk ? 'ok ' : 'bad'} ${describe(theirs)}`)
    if (!oursOk) failures.push(`${c.name}: ${describe(mine)}`)
  }
  assert.deepEqual(failures, [])
})

test('over TLS, an early answer from an agent that reads on: the body goes out whole and clean', async (t) => {
  const fixtures = join(fileURLToPath(new URL('.', import.meta.url)), 'fixtures')
  const tls = { key: readFileSync(join(fixtures, 'tls-self-signed.key')), cert: readFileSync(join(fixtures, 'tls-self-signed.crt')) }
  let answered = false
  const agent = await faultAgent(
    t,
    {
      body: (request, side) => {
        if (!answered && request.received >= BODY_PIECE_BYTES) {
          answered = true
          side.write(OK)
        }
      },
      request: (_request, side) => {
        if (agent.requests.length > 1) side.write(OK)
      }
    },
    tls
  )
  // The fixture's certificate is self-signed and names no IP address: this process takes it as it is.
  const reject = process.env.NODE_TLS_REJECT_UNAUTHORIZED
  process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0'
  t.after(() => {
    if (reject === undefined) delete process.env.NODE_TLS_REJECT_UNAUTHORIZED
    else process.env.NODE_TLS_REJECT_UNAUTHORIZED = reject
  })
  const client = ours(agent.url, LONG_MS)
  t.after(() => client.close())
  const pool = Buffer.alloc(4 << 20)
  assert.equal((await sendPooled(client, 1, pool, pool.length, 5000)).status, 200)
  assert.equal((await sendPooled(client, 2, pool, 1000, 5000)).status, 200)
  await until(() => agent.quiet() && agent.requests.length === 2, 'both bodies')
  for (const request of agent.requests) assert.equal(firstForeignByte(Number(request.headers['x-payload']), request.contentLength, request.body()), -1)
  assert.ok(agent.requests.every((r) => r.complete))
  assert.equal(agent.connections(), 1)
})

test('memory stays flat over rounds of faults: heap and buffers grow by less than 2 MiB over 6 rounds', async (t) => {
  const { setFlagsFromString } = await import('node:v8')
  const { runInNewContext } = await import('node:vm')
  setFlagsFromString('--expose-gc')
  const gc = runInNewContext('gc') as () => void
  // The cases that settle without waiting on a timer (a timeout, an agent pausing), bodies of at most 1 MiB.
  const quick = cases.filter((c) => c.timeoutMs === undefined && !/on the head|trickled/.test(c.name))
  const setups: { c: FaultCase; s: Setup }[] = []
  for (const c of quick) setups.push({ c, s: await setup(t, c, ours, Math.min(c.size, 1 << 20)) })
  const round = async (n: number) => {
    for (const { c, s } of setups) {
      const row = await run(s, c, n * 10)
      assert.ok(meets(row, c.expect, true), `${c.name}, round ${n}: ${describe(row)}`)
    }
  }
  // What the agents keep of the bodies they received is the test's, not the client's: dropped first.
  const settle = () => {
    for (const { s } of setups) s.agent.requests.length = 0
    gc()
    gc()
    return process.memoryUsage()
  }
  await round(1)
  const start = settle()
  for (let n = 2; n <= 7; n++) await round(n)
  const end = settle()
  const grown = end.heapUsed + end.arrayBuffers - (start.heapUsed + start.arrayBuffers)
  t.diagnostic(`heap + array buffers grew by ${(grown / 1024).toFixed(0)} KiB over 6 rounds of ${setups.length} cases`)
  assert.ok(grown < 2 << 20, `grew by ${grown} bytes`)
})
