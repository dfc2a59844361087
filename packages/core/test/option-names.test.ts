import assert from 'node:assert/strict'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { test } from 'node:test'
import { editDistance, nearestName } from '../src/base/option-names.js'
import { CONFIG_OPTION_NAMES } from '../src/config/option-keys.js'
import { HttpServerTracing } from '../src/server/server-span.js'
import { TRACER_OPTION_NAMES } from '../src/tracer/options.js'
import { createTracer } from '../src/tracer/tracer.js'
import { InMemoryExporter } from '../src/testing.js'

function sink() {
  const lines: string[] = []
  return { lines, diagnostics: { write: (line: string) => void lines.push(line) } }
}

/** A tracer made with `options` (and a test exporter); what it printed. */
function tracerWith(options: Record<string, unknown>) {
  const out = sink()
  const tracer = createTracer({ exporter: new InMemoryExporter(), flushOnExit: false, diagnostics: out.diagnostics, ...options })
  return { tracer, lines: out.lines }
}

test('edit distance counts a swap of neighbouring letters as one edit', () => {
  assert.equal(editDistance('serivce', 'service'), 1)
  assert.equal(editDistance('sampelrate', 'samplerate'), 1)
  assert.equal(editDistance('flushinterval', 'flushintervalms'), 2)
  assert.equal(editDistance('', 'abc'), 3)
  assert.equal(editDistance('abc', 'abc'), 0)
  assert.equal(nearestName('serivce', Object.keys(CONFIG_OPTION_NAMES)), 'service')
  assert.equal(nearestName('sampelRate', Object.keys(CONFIG_OPTION_NAMES)), 'sampleRate')
  assert.equal(nearestName('SAMPLERATE', Object.keys(CONFIG_OPTION_NAMES)), 'sampleRate')
  // Nothing near: no suggestion rather than an unrelated one.
  assert.equal(nearestName('zzz', Object.keys(CONFIG_OPTION_NAMES)), undefined)
  assert.equal(nearestName('database', Object.keys(CONFIG_OPTION_NAMES)), undefined)
})

test('createTracer: a misspelled option gets one warning naming it and the nearest option', () => {
  const { tracer, lines } = tracerWith({ serivce: 'checkout', sampelRate: 0.5 })
  assert.deepEqual(lines, [
    'datadog-apm: createTracer: unknown option serivce is ignored; did you mean service?\n',
    'datadog-apm: createTracer: unknown option sampelRate is ignored; did you mean sampleRate?\n'
  ])
  // Ignored, as the message says: the service is not the misspelled value.
  assert.notEqual(tracer.config.service, 'checkout')
  assert.equal(tracer.config.sampleRate, undefined)
})

test('createTracer: every valid option is taken without a word', () => {
  const { lines } = tracerWith({
    service: 'svc', env: 'test', version: '1.0.0', tags: { team: 'a' }, enabled: true, debug: false, url: 'http://127.0.0.1:9',
    flushIntervalMs: 100, sampleRate: 1, rateLimit: 10, logInjection: true, startupLogs: false,
    propagation: { style: ['datadog'], extractFirst: false, baggageMaxItems: 4 },
    runtimeMetrics: { enabled: false, gc: true }, dogstatsd: { hostname: '127.0.0.1', port: 8125 },
    integrations: { http: { propagationFilter: () => true }, pg: { service: 'db', dbmPropagationMode: 'service' }, mysql2: false },
    httpClients: { skip: () => false }, spanAttributeSchema: 'v0', peerServiceMapping: {}
  })
  assert.deepEqual(lines, [])
})

test('createTracer: nested options are checked too, with their path', () => {
  const { lines } = tracerWith({
    propagation: { styel: 'datadog' },
    runtimeMetrics: { enabled: false, gcc: true },
    dogstatsd: { host: '127.0.0.1' },
    httpClients: { propagationFiltre: () => true },
    integrations: { pg: { dbmPropagationMod: 'full' }, redis: { servce: 'cache' }, http: true }
  })
  assert.deepEqual(lines, [
    'datadog-apm: createTracer: unknown option propagation.styel is ignored; did you mean propagation.style?\n',
    'datadog-apm: createTracer: unknown option runtimeMetrics.gcc is ignored; did you mean runtimeMetrics.gc?\n',
    'datadog-apm: createTracer: unknown option dogstatsd.host is ignored; did you mean dogstatsd.hostname?\n',
    'datadog-apm: createTracer: unknown option httpClients.propagationFiltre is ignored; did you mean httpClients.propagationFilter?\n',
    'datadog-apm: createTracer: unknown option integrations.pg.dbmPropagationMod is ignored; did you mean integrations.pg.dbmPropagationMode?\n',
    'datadog-apm: createTracer: unknown option integrations.redis.servce is ignored; did you mean integrations.redis.service?\n'
  ])
})

test("createTracer: dd-trace's option names say where each one went", () => {
  const { lines } = tracerWith({ flushInterval: 500, plugins: false, profiling: true, headers: ['x-id'], tracePropagationStyle: ['datadog'] })
  assert.deepEqual(lines, [
    "datadog-apm: createTracer: unknown option flushInterval is ignored; dd-trace's flushInterval is flushIntervalMs here\n",
    "datadog-apm: createTracer: unknown option plugins is ignored; dd-trace's plugins switch is integrations here (integrations: { http: false })\n",
    "datadog-apm: createTracer: unknown option profiling is ignored; it is dd-trace's, and datadog-apm has no such feature\n",
    'datadog-apm: createTracer: unknown option headers is ignored; it is an option of datadog() (Express) and of the Fastify plugin, not of createTracer\n',
    "datadog-apm: createTracer: unknown option tracePropagationStyle is ignored; dd-trace's tracePropagationStyle is propagation: { style, inject, extract } here\n"
  ])
})

test('an unknown integration name is a TypeError that suggests the nearest one', () => {
  assert.throws(() => tracerWith({ integrations: { mysql: false } }), /option integrations\.mysql names no integration; known: .*; did you mean integrations\.mysql2\?/)
})

test('request-span options: each unknown key warns once through the tracer, however many middlewares are made', () => {
  const { tracer, lines } = tracerWith({})
  const options = { tracer, servce: 'web', env: 'prod', hooks: { requets: (_s: unknown, _q: IncomingMessage, _r: ServerResponse) => {} } }
  new HttpServerTracing('express', options as never, { where: 'datadog()' })
  new HttpServerTracing('express', options as never, { where: 'datadog()' })
  assert.deepEqual(lines, [
    'datadog-apm: datadog(): unknown option servce is ignored; did you mean service?\n',
    'datadog-apm: datadog(): unknown option env is ignored; it is an option of createTracer: pass { tracer: createTracer({ env }) } to datadog()\n',
    'datadog-apm: datadog(): unknown option hooks.requets is ignored; did you mean hooks.request?\n'
  ])
})

test('request-span options: keys a framework reads for itself are not reported', () => {
  const { tracer, lines } = tracerWith({})
  new HttpServerTracing('fastify', { tracer, prefix: '/v1', contextGuard: 'handler' } as never, {
    where: 'the Fastify plugin',
    extra: { contextGuard: true },
    ignore: ['prefix']
  })
  assert.deepEqual(lines, [])
})

test('the table of names holds exactly the options of the type (the compiler checks it; this shows the table is in use)', () => {
  assert.ok(Object.hasOwn(TRACER_OPTION_NAMES, 'exporter'))
  assert.ok(Object.hasOwn(TRACER_OPTION_NAMES, 'startupLogs'))
  assert.equal(Object.keys(TRACER_OPTION_NAMES).length, Object.keys(CONFIG_OPTION_NAMES).length + 2)
})
