// Interop with dd-trace, the real peer, in separate processes on 127.0.0.1: a dd-trace service calls one of
// ours and ours calls a dd-trace service, per propagation style, with 64- and 128-bit trace ids. Both
// sides send to the same local intake; trace id, parent id and sampling decision must connect.
// dd-trace 5 runs on Node 20, dd-trace 6 on Node 22+ (fixtures/interop/dd-service.cjs picks it).
import assert from 'node:assert/strict'
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { createInterface } from 'node:readline'
import { after, before, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { startAgent, type Agent, type ReceivedSpan } from '@datadog-apm/agent'

const fixtures = fileURLToPath(new URL('./fixtures/interop/', import.meta.url))

interface Combo {
  readonly name: string
  readonly style: string
  readonly bits128: boolean
}

const COMBOS: readonly Combo[] = [
  { name: 'datadog-128', style: 'datadog', bits128: true },
  { name: 'datadog-64', style: 'datadog', bits128: false },
  { name: 'tracecontext-128', style: 'tracecontext', bits128: true },
  { name: 'tracecontext-64', style: 'tracecontext', bits128: false },
  // The default set on both sides: both header styles arrive together and must merge, with baggage.
  { name: 'default', style: 'datadog,tracecontext,baggage', bits128: true }
]

interface Service {
  readonly child: ChildProcess
  readonly base: string
  readonly name: string
  readonly stderr: string[]
}

interface Pair {
  readonly dd: Service
  readonly ours: Service
}

let agent: Agent
const pairs = new Map<string, Pair>()
// Every process started, kept from its spawn on: one that started while another failed is stopped too.
const children: ChildProcess[] = []

async function launch(kind: 'dd' | 'ours', combo: Combo): Promise<Service> {
  const name = `${kind}-${combo.name}`
  const child = spawn(process.execPath, [kind === 'dd' ? 'dd-service.cjs' : 'our-service.mjs'], {
    cwd: fixtures,
    env: {
      ...process.env,
      DD_SERVICE: name,
      DD_ENV: 'interop',
      DD_TRACE_AGENT_URL: agent.url,
      DD_TRACE_FLUSH_INTERVAL: '0',
      DD_TRACE_STARTUP_LOGS: 'false',
      DD_INSTRUMENTATION_TELEMETRY_ENABLED: 'false',
      DD_REMOTE_CONFIGURATION_ENABLED: 'false',
      DD_TRACE_PROPAGATION_STYLE: combo.style,
      DD_TRACE_128_BIT_TRACEID_GENERATION_ENABLED: String(combo.bits128)
    },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  children.push(child)
  const stderr: string[] = []
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => stderr.push(chunk))
  const lines = createInterface({ input: child.stdout })
  let timer: NodeJS.Timeout | undefined
  const port = await new Promise<number>((resolve, reject) => {
    lines.once('line', (line) => resolve((JSON.parse(line) as { port: number }).port))
    child.once('exit', (code) => reject(new Error(`${name} exited with ${code}: ${stderr.join('')}`)))
    timer = setTimeout(() => reject(new Error(`${name} printed no port within 20 s: ${stderr.join('')}`)), 20_000)
  }).finally(() => clearTimeout(timer))
  return { child, base: `http://127.0.0.1:${port}`, name, stderr }
}

before(async () => {
  agent = await startAgent()
  await Promise.all(
    COMBOS.map(async (combo) => {
      const [dd, ours] = await Promise.all([launch('dd', combo), launch('ours', combo)])
      pairs.set(combo.name, { dd, ours })
    })
  )
})

after(async () => {
  await Promise.all(
    children.map(async (child) => {
      if (child.exitCode !== null || child.signalCode !== null) return
      const exited = once(child, 'exit')
      child.kill('SIGTERM')
      await exited
    })
  )
  await agent.close()
})

interface Leaf {
  headers: Record<string, string>
  traceId: string
  spanId: string
}

async function call(from: Service, to: Service, query: string, headers: Record<string, string> = {}): Promise<{ downstream: Leaf }> {
  const res = await fetch(`${from.base}/call?${query}&target=${encodeURIComponent(`${to.base}/leaf`)}`, { headers })
  assert.equal(res.status, 200, `${from.name} -> ${to.name}: ${await res.clone().text()}`)
  return (await res.json()) as { downstream: Leaf }
}

/** Waits until a chunk of the trace from each service reached the intake, and returns the trace's spans. */
async function traceSpans(traceId: bigint, services: readonly string[]): Promise<ReceivedSpan[]> {
  for (const service of services) {
    await agent.waitForTraces(1, { timeoutMs: 10_000, filter: (trace) => trace.spans.some((s) => s.trace_id === traceId && s.service === service) })
  }
  return agent.spans().filter((s) => s.trace_id === traceId)
}

function find(spans: ReceivedSpan[], name: string, predicate: (s: ReceivedSpan) => boolean): ReceivedSpan {
  const span = spans.find((s) => s.name === name && predicate(s))
  assert.ok(span, `no ${name} span among ${spans.map((s) => `${s.service}/${s.name}`).join(', ')}`)
  return span
}

const hex16 = (id: bigint): string => id.toString(16).padStart(16, '0')

for (const combo of COMBOS) {
  test(`${combo.name}: a dd-trace service calls ours`, async () => {
    const { dd, ours } = pairs.get(combo.name)!
    const baggage = combo.style.includes('baggage') ? { baggage: 'user.id=u-42,color=red' } : undefined
    const { downstream } = await call(dd, ours, 'keep=1', baggage)
    const traceId = BigInt(downstream.traceId)
    const spans = await traceSpans(traceId, [dd.name, ours.name])

    const ddRoot = find(spans, 'web.request', (s) => s.parent_id === 0n)
    const ddClient = find(spans, 'http.request', (s) => s.parent_id === ddRoot.span_id)
    const ourRoot = find(spans, 'express.request', (s) => s.service === ours.name)
    assert.equal(ourRoot.trace_id, ddRoot.trace_id)
    assert.equal(ourRoot.parent_id, ddClient.span_id, 'our request span is a child of dd-trace\'s client span')
    assert.equal(ddRoot.metrics._sampling_priority_v1, 2)
    assert.equal(ourRoot.metrics._sampling_priority_v1, 2, "dd-trace's manual keep is ours too")
    assert.equal(ourRoot.meta['_dd.p.dm'], '-4')
    if (combo.bits128) {
      assert.match(ddRoot.meta['_dd.p.tid'] ?? '', /^[0-9a-f]{16}$/)
      assert.equal(ourRoot.meta['_dd.p.tid'], ddRoot.meta['_dd.p.tid'])
    } else {
      assert.equal(ddRoot.meta['_dd.p.tid'], undefined)
      assert.equal(ourRoot.meta['_dd.p.tid'], undefined)
    }
    assert.equal(ourRoot.meta['_dd.span_links'], undefined, 'the styles agreed: nothing to link')
    if (combo.style === 'tracecontext') assert.equal(ourRoot.meta['_dd.parent_id'], hex16(ddClient.span_id))
    if (baggage !== undefined) {
      assert.equal(downstream.headers.baggage, 'user.id=u-42,color=red')
      assert.equal(ourRoot.meta['baggage.user.id'], 'u-42')
    }
  })

  test(`${combo.name}: ours calls a dd-trace service`, async () => {
    const { dd, ours } = pairs.get(combo.name)!
    const baggage = combo.style.includes('baggage') ? { baggage: 'user.id=u-7,color=blue' } : undefined
    const { downstream } = await call(ours, dd, 'keep=1', baggage)
    const traceId = BigInt(downstream.traceId)
    const spans = await traceSpans(traceId, [ours.name, dd.name])

    const ourRoot = find(spans, 'express.request', (s) => s.service === ours.name)
    const ourClient = find(spans, 'http.request', (s) => s.parent_id === ourRoot.span_id)
    const ddRoot = find(spans, 'web.request', (s) => s.service === dd.name)
    assert.equal(ourClient.meta.component, 'fetch')
    assert.equal(ddRoot.trace_id, ourRoot.trace_id)
    assert.equal(ddRoot.parent_id, ourClient.span_id, "dd-trace's request span is a child of our fetch span")
    assert.equal(BigInt(downstream.spanId), ddRoot.span_id)
    assert.equal(ourRoot.metrics._sampling_priority_v1, 2)
    assert.equal(ddRoot.metrics._sampling_priority_v1, 2, 'our manual keep is dd-trace\'s too')
    assert.equal(ddRoot.meta['_dd.p.dm'], '-4')
    if (combo.bits128) {
      assert.match(ourRoot.meta['_dd.p.tid'] ?? '', /^[0-9a-f]{16}$/)
      assert.equal(ddRoot.meta['_dd.p.tid'], ourRoot.meta['_dd.p.tid'])
    } else {
      assert.equal(ourRoot.meta['_dd.p.tid'], undefined)
      assert.equal(ddRoot.meta['_dd.p.tid'], undefined)
    }
    if (combo.style === 'tracecontext') assert.equal(ddRoot.meta['_dd.parent_id'], hex16(ourClient.span_id), 'dd-trace read our tracestate p')
    if (baggage !== undefined) {
      assert.equal(downstream.headers.baggage, 'user.id=u-7,color=blue')
      assert.equal(ddRoot.meta['baggage.user.id'], 'u-7')
    }
    assert.deepEqual(agent.violations(), [])
  })
}
