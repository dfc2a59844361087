import assert from 'node:assert/strict'
import { hasSubscribers } from 'node:diagnostics_channel'
import { test } from 'node:test'
import { parseMap, resolveIntegrations, resolveNaming, type IntegrationsOptions } from '../src/config/integrations.js'
import type { HttpClientOptions } from '../src/integrations/client-span.js'
import { InMemoryExporter } from '../src/testing.js'
import { CoreTracer } from '../src/tracer/tracer.js'

function integrations(env: Record<string, string>, options?: IntegrationsOptions, httpClients?: boolean | HttpClientOptions) {
  const warnings: string[] = []
  const config = resolveIntegrations(options, httpClients, env, (m) => warnings.push(m))
  return { config, warnings }
}

const PG = { dbmPropagationMode: 'disabled' }

test('by default every integration is on, outbound HTTP included', () => {
  const { config, warnings } = integrations({})
  assert.deepEqual(config, { http: {}, mysql2: {}, ioredis: {}, redis: {}, pg: { dbmPropagationMode: 'disabled' } })
  assert.deepEqual(warnings, [])
})

test('false turns one off; true or options turn one on; httpClients is integrations.http', () => {
  assert.deepEqual(integrations({}, { pg: false, mysql2: { service: 'orders-db' }, http: true }).config, {
    http: {},
    mysql2: { service: 'orders-db' },
    ioredis: {},
    redis: {},
    pg: false
  })
  assert.deepEqual(integrations({}, undefined, true).config.http, {})
  assert.equal(integrations({}, { http: false }, true).config.http, false, 'integrations.http wins over httpClients')
})

test("dd-trace's switches: DD_TRACE_<NAME>_ENABLED, its package aliases, DD_TRACE_DISABLED_PLUGINS", () => {
  assert.equal(integrations({ DD_TRACE_PG_ENABLED: 'false' }).config.pg, false)
  assert.equal(integrations({ DD_TRACE_MYSQL2_ENABLED: '0' }).config.mysql2, false)
  assert.equal(integrations({ DD_TRACE_REDIS_CLIENT_ENABLED: 'false' }).config.redis, false, "@redis/client's hook")
  assert.equal(integrations({ DD_TRACE_NODE_REDIS_CLIENT_ENABLED: 'false' }).config.redis, false)
  assert.equal(integrations({ DD_TRACE_HTTP_ENABLED: 'false' }).config.http, false)
  assert.equal(integrations({ DD_TRACE_DISABLED_PLUGINS: 'http' }).config.http, false)
  assert.equal(integrations({}, undefined, false).config.http, false, 'httpClients: false')
  const { config } = integrations({ DD_TRACE_DISABLED_PLUGINS: 'ioredis, Redis' })
  assert.equal(config.ioredis, false)
  assert.equal(config.redis, false)
  assert.deepEqual(config.pg, PG)
})

test('an option wins over a variable', () => {
  assert.deepEqual(integrations({ DD_TRACE_PG_ENABLED: 'false' }, { pg: true }).config.pg, PG)
  assert.deepEqual(integrations({ DD_TRACE_DISABLED_PLUGINS: 'pg' }, { pg: { service: 'x' } }).config.pg, { ...PG, service: 'x' })
  assert.equal(integrations({}, { ioredis: false }).config.ioredis, false)
})

test('DD_SERVICE_MAPPING gives a service unless the option names one', () => {
  const { config } = integrations({ DD_SERVICE_MAPPING: 'pg:orders-db, redis:cache,mysql2:' }, { redis: { service: 'sessions' } })
  assert.deepEqual(config.pg, { ...PG, service: 'orders-db' })
  assert.deepEqual(config.redis, { service: 'sessions' })
  assert.deepEqual(config.mysql2, {}, 'an empty value maps nothing')
})

test('a bad variable warns once and is ignored; a bad option is a TypeError', () => {
  const { config, warnings } = integrations({ DD_TRACE_PG_ENABLED: 'nope' })
  assert.deepEqual(config.pg, PG)
  assert.equal(warnings.length, 1)
  assert.match(warnings[0] ?? '', /DD_TRACE_PG_ENABLED/)
  assert.throws(() => integrations({}, { mongo: false } as IntegrationsOptions), /integrations\.mongo names no integration/)
  assert.throws(() => integrations({}, { pg: { service: '' } }), /integrations\.pg\.service/)
  assert.throws(() => integrations({}, { pg: 'yes' } as unknown as IntegrationsOptions), TypeError)
  assert.throws(() => integrations({}, null as unknown as IntegrationsOptions), TypeError)
})

test('DD_DBM_PROPAGATION_MODE sets the pg default; the option wins; dynamic_service is service', () => {
  assert.deepEqual(integrations({ DD_DBM_PROPAGATION_MODE: 'full' }).config.pg, { dbmPropagationMode: 'full' })
  assert.deepEqual(integrations({ DD_DBM_PROPAGATION_MODE: 'full' }, { pg: { dbmPropagationMode: 'service' } }).config.pg, { dbmPropagationMode: 'service' })
  assert.deepEqual(integrations({ DD_DBM_PROPAGATION_MODE: 'dynamic_service' }).config.pg, { dbmPropagationMode: 'service' })
  const { config, warnings } = integrations({ DD_DBM_PROPAGATION_MODE: 'all' })
  assert.deepEqual(config.pg, PG)
  assert.equal(warnings.length, 1)
  assert.throws(() => integrations({}, { pg: { dbmPropagationMode: 'all' as 'full' } }), /dbmPropagationMode/)
})

test('naming: schema v0 by default, v1 turns peer.service on, the mapping from the option or the variable', () => {
  const warnings: string[] = []
  const warn = (m: string): number => warnings.push(m)
  assert.deepEqual(resolveNaming({}, {}, warn), { spanAttributeSchema: 'v0', peerServiceDefaults: false, peerServiceMapping: {}, removeIntegrationServiceNames: false })
  const v1 = resolveNaming({}, { DD_TRACE_SPAN_ATTRIBUTE_SCHEMA: 'v1', DD_TRACE_PEER_SERVICE_MAPPING: 'a:b,c:d' }, warn)
  assert.equal(v1.spanAttributeSchema, 'v1')
  assert.equal(v1.peerServiceDefaults, true)
  assert.deepEqual(v1.peerServiceMapping, { a: 'b', c: 'd' })
  assert.equal(resolveNaming({ spanAttributeSchema: 'v1', peerServiceDefaults: false }, {}, warn).peerServiceDefaults, false)
  assert.equal(resolveNaming({}, { DD_TRACE_PEER_SERVICE_DEFAULTS_ENABLED: 'true' }, warn).peerServiceDefaults, true)
  assert.deepEqual(resolveNaming({ peerServiceMapping: { x: 'y' } }, { DD_TRACE_PEER_SERVICE_MAPPING: 'a:b' }, warn).peerServiceMapping, { x: 'y' })
  assert.deepEqual(warnings, [])
  assert.equal(resolveNaming({}, { DD_TRACE_SPAN_ATTRIBUTE_SCHEMA: 'v2' }, warn).spanAttributeSchema, 'v0')
  assert.equal(warnings.length, 1)
  assert.throws(() => resolveNaming({ spanAttributeSchema: 'v2' as 'v1' }, {}, warn), TypeError)
})

test('parseMap reads key:value pairs and skips the rest', () => {
  assert.deepEqual(parseMap('a:b, c : d ,e,:f,g:'), { a: 'b', c: 'd' })
  assert.deepEqual(parseMap('host:db.internal:5432'), { host: 'db.internal:5432' })
})

const DB_CHANNELS = ['tracing:mysql2:query:start', 'tracing:ioredis:command:start', 'tracing:node-redis:command:start', 'tracing:node-redis:batch:start']

test('a tracer subscribes to the drivers it does not turn off; shutdown (of the owner only) undoes it', async () => {
  const subscribed = (): boolean[] => DB_CHANNELS.map((name) => hasSubscribers(name))
  assert.deepEqual(subscribed(), [false, false, false, false])
  const first = new CoreTracer({ exporter: new InMemoryExporter(), flushOnExit: false, integrations: { ioredis: false } })
  assert.deepEqual(subscribed(), [true, false, true, true])
  const second = new CoreTracer({ exporter: new InMemoryExporter(), flushOnExit: false })
  assert.deepEqual(subscribed(), [true, true, true, true], 'the latest tracer holds them, with its own switches')
  await first.shutdown()
  assert.deepEqual(subscribed(), [true, true, true, true], 'only the owner turns them off')
  await second.shutdown()
  assert.deepEqual(subscribed(), [false, false, false, false])
  const disabled = new CoreTracer({ exporter: new InMemoryExporter(), flushOnExit: false, enabled: false })
  assert.deepEqual(subscribed(), [false, false, false, false], 'a disabled tracer subscribes to nothing')
  await disabled.shutdown()
})
