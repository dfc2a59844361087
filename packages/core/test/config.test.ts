import assert from 'node:assert/strict'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { resolveConfig } from '../src/config/config.js'
import { parseTags } from '../src/config/tags.js'
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

test('OTEL_SERVICE_NAME stands in for DD_SERVICE; with both set DD_SERVICE wins, with a warning', () => {
  assert.equal(resolve({ OTEL_SERVICE_NAME: 'otel-svc' }).config.service, 'otel-svc')
  const both = resolve({ DD_SERVICE: 'dd-svc', OTEL_SERVICE_NAME: 'otel-svc' })
  assert.equal(both.config.service, 'dd-svc')
  assert.deepEqual(both.warnings, ['DD_SERVICE and OTEL_SERVICE_NAME are both set; OTEL_SERVICE_NAME is ignored'])
  const alias = resolve({ DD_SERVICE_NAME: 'alias', OTEL_SERVICE_NAME: 'otel-svc' })
  assert.equal(alias.config.service, 'alias')
  assert.match(alias.warnings[0], /^DD_SERVICE_NAME and OTEL_SERVICE_NAME are both set/)
  assert.equal(resolve({ OTEL_SERVICE_NAME: 'otel-svc' }, { service: 'opt' }).config.service, 'opt')
})

test('OTEL_RESOURCE_ATTRIBUTES: tags under DD_TAGS and options; service, env and version taken out', () => {
  const attributes = 'service.name=res-svc, deployment.environment=old,deployment.environment.name=prod,service.version=1.2,team=x,bad'
  const { config, warnings } = resolve({ OTEL_RESOURCE_ATTRIBUTES: attributes })
  assert.deepEqual(warnings, [])
  assert.equal(config.service, 'res-svc')
  assert.equal(config.env, 'prod')
  assert.equal(config.version, '1.2')
  assert.deepEqual(config.tags, { team: 'x' })
  assert.equal(resolve({ OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment=staging' }).config.env, 'staging')

  const both = resolve({ OTEL_RESOURCE_ATTRIBUTES: 'team=x,owner=o', DD_TAGS: 'team:y' }, { tags: { owner: 'opt' } })
  assert.deepEqual(both.config.tags, { team: 'y', owner: 'opt' })
  assert.deepEqual(both.warnings, ['DD_TAGS and OTEL_RESOURCE_ATTRIBUTES are both set; the first wins where both name a tag'])
  const named = resolve({ OTEL_RESOURCE_ATTRIBUTES: 'service.name=res,deployment.environment.name=res', DD_SERVICE: 'dd', DD_ENV: 'dd' })
  assert.equal(named.config.service, 'dd')
  assert.equal(named.config.env, 'dd')
})

test('service: in DD_TAGS stands in for DD_SERVICE, as env and version do', () => {
  const { config } = resolve({ DD_TAGS: 'service:tagged,team:x' })
  assert.equal(config.service, 'tagged')
  assert.deepEqual(config.tags, { team: 'x' })
  assert.equal(resolve({ DD_TAGS: 'service:tagged', DD_SERVICE: 'dd' }).config.service, 'dd')
})

test('OTEL_TRACES_SAMPLER (and _ARG) stand in for DD_TRACE_SAMPLE_RATE', () => {
  const rate = (env: Record<string, string>) => resolve(env).config.sampleRate
  assert.equal(rate({ OTEL_TRACES_SAMPLER: 'always_on' }), 1)
  assert.equal(rate({ OTEL_TRACES_SAMPLER: 'parentbased_always_on' }), 1)
  assert.equal(rate({ OTEL_TRACES_SAMPLER: 'always_off' }), 0)
  assert.equal(rate({ OTEL_TRACES_SAMPLER: 'parentbased_always_off' }), 0)
  assert.equal(rate({ OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.25' }), 0.25)
  assert.equal(rate({ OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '1' }), 1)
  assert.equal(rate({ OTEL_TRACES_SAMPLER_ARG: '0.5' }), undefined, 'the argument alone names no sampler')
  for (const [env, name] of [
    [{ OTEL_TRACES_SAMPLER: 'traceidratio' }, 'OTEL_TRACES_SAMPLER_ARG'],
    [{ OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '1.5' }, 'OTEL_TRACES_SAMPLER_ARG'],
    [{ OTEL_TRACES_SAMPLER: 'jaeger_remote' }, 'OTEL_TRACES_SAMPLER']
  ] as const) {
    const { config, warnings } = resolve(env)
    assert.equal(config.sampleRate, undefined)
    assert.equal(warnings.length, 1)
    assert.ok(warnings[0].startsWith(`${name}=`), warnings[0])
  }
  const both = resolve({ DD_TRACE_SAMPLE_RATE: '0.5', OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.1' })
  assert.equal(both.config.sampleRate, 0.5)
  assert.deepEqual(both.warnings, [
    'DD_TRACE_SAMPLE_RATE and OTEL_TRACES_SAMPLER are both set; OTEL_TRACES_SAMPLER is ignored',
    'DD_TRACE_SAMPLE_RATE and OTEL_TRACES_SAMPLER_ARG are both set; OTEL_TRACES_SAMPLER_ARG is ignored'
  ])
  assert.equal(resolve({ OTEL_TRACES_SAMPLER: 'always_off' }, { sampleRate: 0.3 }).config.sampleRate, 0.3)
})

test('OTEL_TRACES_EXPORTER=none turns tracing off unless DD_TRACE_ENABLED says otherwise', () => {
  assert.equal(resolve({ OTEL_TRACES_EXPORTER: 'none' }).config.enabled, false)
  assert.equal(resolve({ OTEL_TRACES_EXPORTER: 'None' }).config.enabled, false)
  const both = resolve({ DD_TRACE_ENABLED: 'true', OTEL_TRACES_EXPORTER: 'none' })
  assert.equal(both.config.enabled, true)
  assert.deepEqual(both.warnings, ['DD_TRACE_ENABLED and OTEL_TRACES_EXPORTER are both set; OTEL_TRACES_EXPORTER is ignored'])
  const otlp = resolve({ OTEL_TRACES_EXPORTER: 'otlp' })
  assert.equal(otlp.config.enabled, true)
  assert.equal(otlp.warnings.length, 1)
  assert.match(otlp.warnings[0], /^OTEL_TRACES_EXPORTER="otlp" is ignored/)
  assert.equal(resolve({ OTEL_TRACES_EXPORTER: 'none' }, { enabled: true }).config.enabled, true)
})

test('OTEL_LOG_LEVEL=debug turns debug on unless DD_TRACE_DEBUG says otherwise', () => {
  assert.equal(resolve({ OTEL_LOG_LEVEL: 'debug' }).config.debug, true)
  assert.equal(resolve({ OTEL_LOG_LEVEL: 'info' }).config.debug, false)
  const both = resolve({ DD_TRACE_DEBUG: 'false', OTEL_LOG_LEVEL: 'debug' })
  assert.equal(both.config.debug, false)
  assert.deepEqual(both.warnings, ['DD_TRACE_DEBUG and OTEL_LOG_LEVEL are both set; OTEL_LOG_LEVEL is ignored'])
})

test('OTEL_SDK_DISABLED is DD_TRACE_OTEL_ENABLED inverted; the bridge is on by default', () => {
  assert.equal(resolve({}).config.openTelemetry, true)
  assert.equal(resolve({ OTEL_SDK_DISABLED: 'true' }).config.openTelemetry, false)
  assert.equal(resolve({ OTEL_SDK_DISABLED: 'false' }).config.openTelemetry, true)
  assert.equal(resolve({ DD_TRACE_OTEL_ENABLED: 'false' }).config.openTelemetry, false)
  const both = resolve({ DD_TRACE_OTEL_ENABLED: 'true', OTEL_SDK_DISABLED: 'true' })
  assert.equal(both.config.openTelemetry, true)
  assert.deepEqual(both.warnings, ['DD_TRACE_OTEL_ENABLED and OTEL_SDK_DISABLED are both set; OTEL_SDK_DISABLED is ignored'])
  const bad = resolve({ OTEL_SDK_DISABLED: 'yes' })
  assert.equal(bad.config.openTelemetry, true)
  assert.match(bad.warnings[0], /^OTEL_SDK_DISABLED="yes" is not true or false/)
  assert.equal(resolve({ OTEL_SDK_DISABLED: 'true' }, { openTelemetry: true }).config.openTelemetry, true)
})

test('OTEL_PROPAGATORS stands in for DD_TRACE_PROPAGATION_STYLE', () => {
  assert.deepEqual(resolve({ OTEL_PROPAGATORS: 'b3multi,tracecontext' }).config.propagation.inject, ['b3multi', 'tracecontext'])
  const both = resolve({ DD_TRACE_PROPAGATION_STYLE: 'datadog', OTEL_PROPAGATORS: 'b3' })
  assert.deepEqual(both.config.propagation.extract, ['datadog'])
  assert.deepEqual(both.warnings, ['DD_TRACE_PROPAGATION_STYLE and OTEL_PROPAGATORS are both set; OTEL_PROPAGATORS is ignored'])
})

test('the HTTP span defaults come from their variables, checked here', () => {
  const { config, warnings } = resolve({
    DD_TRACE_HTTP_SERVER_ERROR_STATUSES: '400-403,500',
    DD_TRACE_HTTP_CLIENT_ERROR_STATUSES: '404',
    DD_TRACE_OBFUSCATION_QUERY_STRING_REGEXP: 'secret=[^&]*',
    DD_TRACE_HEADER_TAGS: 'x-a, x-b:tag.b',
    DD_TRACE_CLIENT_IP_ENABLED: 'TRUE',
    DD_TRACE_CLIENT_IP_HEADER: 'X-Real-IP'
  })
  assert.deepEqual(warnings, [])
  const server = config.httpServer
  assert.deepEqual([400, 403, 404, 500, 501].map(server.isErrorStatus), [true, true, false, true, false])
  assert.deepEqual([403, 404, 405].map(config.httpClient.isErrorStatus), [false, true, false])
  assert.equal(server.queryStringObfuscation, 'secret=[^&]*')
  assert.deepEqual(server.headerTags, ['x-a', ' x-b:tag.b'])
  assert.equal(server.clientIp, true)
  assert.equal(server.clientIpHeader, 'x-real-ip')

  const defaults = resolve({}).config
  assert.deepEqual([499, 500, 599, 600].map(defaults.httpServer.isErrorStatus), [false, true, true, false])
  assert.deepEqual([399, 400, 499, 500].map(defaults.httpClient.isErrorStatus), [false, true, true, false])
  assert.equal(defaults.httpServer.queryStringObfuscation, undefined)
  assert.equal(defaults.httpServer.clientIp, false)
  assert.equal(resolve({ DD_TRACE_OBFUSCATION_QUERY_STRING_REGEXP: '' }).config.httpServer.queryStringObfuscation, '', 'empty keeps query strings')

  const bad = resolve({ DD_TRACE_HTTP_SERVER_ERROR_STATUSES: '5xx', DD_TRACE_HTTP_CLIENT_ERROR_STATUSES: '4', DD_TRACE_OBFUSCATION_QUERY_STRING_REGEXP: '(' })
  assert.equal(bad.config.httpServer.isErrorStatus(500), true)
  assert.equal(bad.config.httpClient.isErrorStatus(404), true)
  assert.equal(bad.config.httpServer.queryStringObfuscation, undefined)
  assert.equal(bad.warnings.length, 3)
  for (const name of ['DD_TRACE_OBFUSCATION_QUERY_STRING_REGEXP', 'DD_TRACE_HTTP_SERVER_ERROR_STATUSES', 'DD_TRACE_HTTP_CLIENT_ERROR_STATUSES']) {
    assert.ok(bad.warnings.some((w) => w.startsWith(name)), `a warning names ${name}`)
  }
})

test('the resolved config is frozen, down to its tags, rules and nested settings', () => {
  const { config } = resolve({ DD_TAGS: 'a:1', DD_TRACE_SAMPLING_RULES: '[{"service":"s","tags":{"k":"v"},"sample_rate":0.5}]' })
  for (const part of [config, config.tags, config.propagation, config.propagation.extract, config.samplingRules, config.samplingRules[0], config.samplingRules[0].tags, config.spanSamplingRules, config.httpServer, config.httpServer.headerTags, config.httpClient]) {
    assert.ok(Object.isFrozen(part))
  }
  assert.throws(() => {
    ;(config as { service: string }).service = 'changed'
  }, TypeError)
})

test('nativeSpanEvents: DD_TRACE_NATIVE_SPAN_EVENTS, default false; the option wins', () => {
  assert.equal(resolve({}).config.nativeSpanEvents, false)
  assert.equal(resolve({ DD_TRACE_NATIVE_SPAN_EVENTS: 'true' }).config.nativeSpanEvents, true)
  assert.equal(resolve({ DD_TRACE_NATIVE_SPAN_EVENTS: 'true' }, { nativeSpanEvents: false }).config.nativeSpanEvents, false)
  const { config, warnings } = resolve({ DD_TRACE_NATIVE_SPAN_EVENTS: 'yes' })
  assert.equal(config.nativeSpanEvents, false)
  assert.equal(warnings.length, 1)
})
