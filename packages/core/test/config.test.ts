import assert from 'node:assert/strict'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { parseTags, resolveConfig } from '../src/config/config.js'
import { createTracer } from '../src/tracer/tracer.js'
import { TRACER_VERSION } from '../src/base/version.js'
import { InMemoryExporter } from '../src/testing.js'

const emptyDir = mkdtempSync(join(tmpdir(), 'dd-config-'))

function resolve(env: Record<string, string>, options = {}) {
  const warnings: string[] = []
  const config = resolveConfig(options, env, (m) => warnings.push(m), emptyDir)
  return { config, warnings }
}

test('defaults match dd-trace', () => {
  const { config, warnings } = resolve({})
  assert.deepEqual(warnings, [])
  assert.equal(config.service, 'node')
  assert.equal(config.env, undefined)
  assert.equal(config.url.href, 'http://127.0.0.1:8126/')
  assert.equal(config.flushIntervalMs, 2000)
  assert.equal(config.partialFlushMinSpans, 1000)
  assert.equal(config.traceId128BitGeneration, true)
  assert.equal(config.traceId128BitLogging, true)
  assert.equal(config.enabled, true)
  assert.equal(config.debug, false)
  assert.equal(config.logInjection, true)
})

test('DD_* variables are read, with their aliases', () => {
  const { config, warnings } = resolve({
    DD_SERVICE_NAME: 'alias-svc',
    DD_ENV: 'prod',
    DD_VERSION: '2.0.0',
    DD_TAGS: 'team:apm, owner:me,flag',
    DD_TRACE_ENABLED: 'false',
    DD_TRACE_DEBUG: '1',
    DD_TRACE_AGENT_HOSTNAME: 'agent.local',
    DD_TRACE_AGENT_PORT: '9126',
    DD_TRACE_FLUSH_INTERVAL: '500',
    DD_TRACE_PARTIAL_FLUSH_MIN_SPANS: '50',
    DD_TRACE_128_BIT_TRACEID_GENERATION_ENABLED: 'false',
    DD_TRACE_128_BIT_TRACEID_LOGGING_ENABLED: 'false',
    DD_LOGS_INJECTION: 'false'
  })
  assert.deepEqual(warnings, [])
  assert.equal(config.service, 'alias-svc')
  assert.equal(config.env, 'prod')
  assert.equal(config.version, '2.0.0')
  assert.deepEqual(config.tags, { team: 'apm', owner: 'me', flag: '' })
  assert.equal(config.enabled, false)
  assert.equal(config.debug, true)
  assert.equal(config.url.href, 'http://agent.local:9126/')
  assert.equal(config.flushIntervalMs, 500)
  assert.equal(config.partialFlushMinSpans, 50)
  assert.equal(config.traceId128BitGeneration, false)
  assert.equal(config.traceId128BitLogging, false)
  assert.equal(config.logInjection, false)
})

test('DD_TRACE_AGENT_URL wins over host and port, for http and unix', () => {
  assert.equal(resolve({ DD_TRACE_AGENT_URL: 'http://10.0.0.1:1234', DD_AGENT_HOST: 'x' }).config.url.href, 'http://10.0.0.1:1234/')
  const unix = resolve({ DD_TRACE_AGENT_URL: 'unix:///var/run/datadog/apm.socket' }).config.url
  assert.equal(unix.protocol, 'unix:')
  assert.equal(unix.pathname, '/var/run/datadog/apm.socket')
  assert.equal(resolve({ DD_TRACE_URL: 'http://h:1' }).config.url.href, 'http://h:1/')
  assert.equal(resolve({ DD_AGENT_HOST: '::1' }).config.url.href, 'http://[::1]:8126/')
})

test('options win over the environment', () => {
  const { config } = resolve({ DD_SERVICE: 'env-svc', DD_ENV: 'env', DD_TAGS: 'a:1' }, { service: 'opt', env: 'o', tags: { b: 2 }, url: 'http://127.0.0.1:1' })
  assert.equal(config.service, 'opt')
  assert.equal(config.env, 'o')
  assert.deepEqual(config.tags, { a: '1', b: '2' })
  assert.equal(config.url.port, '1')
})

test('DD_TAGS env and version stand in for DD_ENV and DD_VERSION, and never duplicate them', () => {
  const { config } = resolve({ DD_TAGS: 'env:qa,version:9,team:x' })
  assert.equal(config.env, 'qa')
  assert.equal(config.version, '9')
  assert.deepEqual(config.tags, { team: 'x' })
  assert.equal(resolve({ DD_TAGS: 'env:qa', DD_ENV: 'prod' }).config.env, 'prod')
})

test('an invalid variable gets one warning naming it, and the default', () => {
  const { config, warnings } = resolve({
    DD_TRACE_FLUSH_INTERVAL: 'soon',
    DD_TRACE_AGENT_PORT: '70000',
    DD_TRACE_ENABLED: 'maybe',
    DD_TRACE_PARTIAL_FLUSH_MIN_SPANS: '0'
  })
  assert.equal(config.flushIntervalMs, 2000)
  assert.equal(config.url.port, '8126')
  assert.equal(config.enabled, true)
  assert.equal(config.partialFlushMinSpans, 1000)
  assert.equal(warnings.length, 4)
  for (const name of ['DD_TRACE_FLUSH_INTERVAL', 'DD_TRACE_AGENT_PORT', 'DD_TRACE_ENABLED', 'DD_TRACE_PARTIAL_FLUSH_MIN_SPANS']) {
    assert.ok(warnings.some((w) => w.startsWith(`${name}=`)), `a warning names ${name}`)
  }
  const url = resolve({ DD_TRACE_AGENT_URL: 'ftp://x' })
  assert.equal(url.config.url.href, 'http://127.0.0.1:8126/')
  assert.match(url.warnings[0], /^DD_TRACE_AGENT_URL=/)
})

test('limits: the last value accepted and the first refused', () => {
  assert.equal(resolve({ DD_TRACE_AGENT_PORT: '65535' }).config.url.port, '65535')
  assert.equal(resolve({ DD_TRACE_AGENT_PORT: '65536' }).warnings.length, 1)
  assert.equal(resolve({ DD_TRACE_FLUSH_INTERVAL: '0' }).config.flushIntervalMs, 0)
  assert.equal(resolve({ DD_TRACE_FLUSH_INTERVAL: '-1' }).warnings.length, 1)
  assert.equal(resolve({}, { maxPayloadBytes: 1024 }).config.maxPayloadBytes, 1024)
  assert.throws(() => resolve({}, { maxPayloadBytes: 1023 }), /maxPayloadBytes/)
  assert.equal(resolve({}).config.flushTimeoutMs, 5000)
  assert.equal(resolve({}, { flushTimeoutMs: 1 }).config.flushTimeoutMs, 1)
  assert.equal(resolve({}, { flushTimeoutMs: 600_000 }).config.flushTimeoutMs, 600_000)
  assert.throws(() => resolve({}, { flushTimeoutMs: 0 }), (e: Error) => e instanceof TypeError && /option flushTimeoutMs/.test(e.message))
  assert.throws(() => resolve({}, { flushTimeoutMs: 600_001 }), /flushTimeoutMs/)
  assert.throws(() => resolve({}, { flushTimeoutMs: 1.5 }), /flushTimeoutMs/)
})

test('an option that makes no sense is a TypeError naming it', () => {
  assert.throws(() => resolve({}, { flushIntervalMs: -5 }), (e: Error) => e instanceof TypeError && /option flushIntervalMs/.test(e.message))
  assert.throws(() => resolve({}, { url: 'not a url' }), (e: Error) => e instanceof TypeError && /option url/.test(e.message))
  assert.throws(() => resolve({}, { service: '' }), (e: Error) => e instanceof TypeError && /option service/.test(e.message))
  assert.throws(() => resolve({}, { enabled: 'yes' }), (e: Error) => e instanceof TypeError && /option enabled/.test(e.message))
  assert.throws(() => resolve({}, { port: 0 }), (e: Error) => e instanceof TypeError && /option port/.test(e.message))
})

test('service and version fall back to package.json, then node', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dd-pkg-'))
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'my-app', version: '3.1.4' }))
  const config = resolveConfig({}, {}, () => {}, dir)
  assert.equal(config.service, 'my-app')
  assert.equal(config.version, '3.1.4')
})

test('parseTags takes commas or spaces', () => {
  assert.deepEqual(parseTags('a:1 b:2'), { a: '1', b: '2' })
  assert.deepEqual(parseTags('a:1,b:x:y, ,:z'), { a: '1', b: 'x:y' })
})

test('a tracer warns about a bad variable once, on its diagnostic sink', () => {
  const lines: string[] = []
  const previous = process.env.DD_TRACE_FLUSH_INTERVAL
  process.env.DD_TRACE_FLUSH_INTERVAL = 'often'
  try {
    createTracer({ exporter: new InMemoryExporter(), flushOnExit: false, diagnostics: { write: (l) => lines.push(l) } })
  } finally {
    if (previous === undefined) delete process.env.DD_TRACE_FLUSH_INTERVAL
    else process.env.DD_TRACE_FLUSH_INTERVAL = previous
  }
  assert.equal(lines.length, 1)
  assert.match(lines[0], /^datadog-apm: DD_TRACE_FLUSH_INTERVAL="often" is not a whole number/)
})

test('the tracer version sent to the agent is the package version', async () => {
  const { readFile } = await import('node:fs/promises')
  const pkg = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
  assert.equal(TRACER_VERSION, pkg.version)
})
