import assert from 'node:assert/strict'
import { before, beforeEach, test } from 'node:test'
import { createTracer, type Span as CoreSpan } from '@datadog-apm/core'
import { InMemoryExporter, type ExportedSpan } from '@datadog-apm/core/testing'
import type * as OtelApi from '@opentelemetry/api'

/** What a library uses of `@opentelemetry/api`, in every 1.x copy. */
export type LibraryApi = Pick<typeof OtelApi, 'trace' | 'context' | 'propagation' | 'SpanKind' | 'SpanStatusCode' | 'ROOT_CONTEXT' | 'createContextKey' | 'createTraceState'>
import { TracerProvider, type OpenTelemetryApi } from '../../src/index.js'

/**
 * The bridge driven as a library drives `@opentelemetry/api`, with the copy of the API given (1.9 or
 * 1.10); `registerWith` is what `register` is given (undefined: the copy the package resolves). One
 * process per API version: OpenTelemetry's globals take a single API version.
 */
export function bridgeSuite(api: LibraryApi, registerWith: OpenTelemetryApi | undefined): void {
  const exporter = new InMemoryExporter()
  const tracer = createTracer({ service: 'otel-svc', exporter, flushOnExit: false, propagation: { baggageTagKeys: ['*'] } })
  const provider = new TracerProvider({ tracer })
  const lib = (): OtelApi.Tracer => api.trace.getTracer('my-lib', '1.0.0')

  before(() => {
    assert.equal(provider.register(registerWith === undefined ? {} : { api: registerWith }), true)
  })
  beforeEach(() => exporter.reset())

  const only = (): ExportedSpan => {
    const spans = exporter.spans()
    assert.equal(spans.length, 1, spans.map((s) => s.name).join(', '))
    return spans[0]
  }
  const named = (name: string): ExportedSpan => {
    const span = exporter.spans().find((s) => s.name === name)
    assert.ok(span, `a span named ${name} among ${exporter.spans().map((s) => s.name).join(', ')}`)
    return span
  }

  test('a named span: its name is operation and resource; the service is the tracer\'s; span.kind internal, not measured; _dd.integration otel', () => {
    lib().startSpan('fetch users').end()
    const span = only()
    assert.equal(span.name, 'fetch users')
    assert.equal(span.resource, 'fetch users')
    assert.equal(span.service, 'otel-svc')
    assert.equal(span.meta['span.kind'], 'internal')
    assert.equal(span.meta['_dd.integration'], 'otel')
    assert.equal(span.metrics['_dd.measured'], undefined)
    api.trace.getTracer('@opentelemetry/instrumentation-http').startSpan('x').end()
    assert.equal(named('x').meta['_dd.integration'], 'otel.library')
  })

  test('kinds: server, client, producer and consumer give span.kind and are measured', () => {
    const kinds = [api.SpanKind.SERVER, api.SpanKind.CLIENT, api.SpanKind.PRODUCER, api.SpanKind.CONSUMER]
    for (const kind of kinds) lib().startSpan(`k${kind}`, { kind }).end()
    assert.deepEqual(
      exporter.spans().map((s) => [s.meta['span.kind'], s.metrics['_dd.measured']]),
      [['server', 1], ['client', 1], ['producer', 1], ['consumer', 1]]
    )
  })

  test('an unnamed span is named from its kind and the attributes given at start, first match wins', () => {
    const { SERVER, CLIENT, INTERNAL, PRODUCER } = api.SpanKind
    const cases: [OtelApi.SpanKind, OtelApi.Attributes, string][] = [
      [INTERNAL, { 'operation.name': 'custom.op', 'http.method': 'GET' }, 'custom.op'],
      [SERVER, { 'http.request.method': 'GET' }, 'http.server.request'],
      [CLIENT, { 'http.method': 'GET' }, 'http.client.request'],
      [CLIENT, { 'db.system': 'postgresql' }, 'postgresql.query'],
      [PRODUCER, { 'messaging.system': 'kafka', 'messaging.operation': 'publish' }, 'kafka.publish'],
      [CLIENT, { 'rpc.system': 'aws-api', 'rpc.service': 'S3' }, 'aws.S3.request'],
      [CLIENT, { 'rpc.system': 'aws-api' }, 'aws.client.request'],
      [CLIENT, { 'rpc.system': 'grpc' }, 'grpc.client.request'],
      [SERVER, { 'rpc.system': 'grpc' }, 'grpc.server.request'],
      [CLIENT, { 'faas.invoked_provider': 'aws', 'faas.invoked_name': 'fn' }, 'aws.fn.invoke'],
      [SERVER, { 'faas.trigger': 'http' }, 'http.invoke'],
      [INTERNAL, { 'graphql.operation.type': 'query' }, 'graphql.server.request'],
      [SERVER, { 'network.protocol.name': 'amqp' }, 'amqp.server.request'],
      [CLIENT, {}, 'client.request'],
      [PRODUCER, {}, 'producer'],
      [INTERNAL, {}, 'internal']
    ]
    for (const [kind, attributes] of cases) lib().startSpan('', { kind, attributes }).end()
    assert.deepEqual(exporter.spans().map((s) => s.name), cases.map(([, , name]) => name))
    assert.ok(exporter.spans().every((s) => s.resource === s.name), 'an unnamed span\'s resource is its operation name')
    // Only the attributes given at start count.
    const late = lib().startSpan('', { kind: SERVER })
    late.setAttribute('http.method', 'GET')
    late.end()
    assert.equal(exporter.spans().at(-1)?.name, 'server.request')
  })

  test('attributes: strings meta, numbers metrics, booleans 0/1, arrays dropped; the keys that steer a span steer it', () => {
    const span = lib().startSpan('op', { attributes: { 'user.id': 'u1', size: 3 } })
    span.setAttributes({ ratio: 0.5, ok: true, off: false, list: ['a', 'b'], nums: [1, 2] })
    span.setAttribute('service.name', 'other-svc')
    span.setAttribute('resource.name', 'GET /x')
    span.setAttribute('span.type', 'web')
    span.setAttribute('http.response.status_code', 404)
    span.setAttribute('analytics.event', true)
    span.end()
    const out = only()
    assert.equal(out.meta['user.id'], 'u1')
    assert.equal(out.metrics.size, 3)
    assert.equal(out.metrics.ratio, 0.5)
    assert.equal(out.metrics.ok, 1)
    assert.equal(out.metrics.off, 0)
    assert.equal(out.getTag('list'), undefined)
    assert.equal(out.getTag('list.0'), undefined, 'arrays are dropped, not flattened')
    assert.equal(out.getTag('nums.0'), undefined)
    assert.equal(out.service, 'other-svc')
    assert.equal(out.resource, 'GET /x')
    assert.equal(out.type, 'web')
    assert.equal(out.meta['http.status_code'], '404')
    assert.equal(out.metrics['http.response.status_code'], 404)
    assert.equal(out.metrics['_dd1.sr.eausr'], 1)
  })

  test('status: ERROR marks the span failed with its message and may be replaced; OK is final; UNSET changes nothing', () => {
    const failed = lib().startSpan('failed')
    failed.setStatus({ code: api.SpanStatusCode.UNSET })
    failed.setStatus({ code: api.SpanStatusCode.ERROR, message: 'boom' })
    failed.end()
    const ok = lib().startSpan('ok')
    ok.setStatus({ code: api.SpanStatusCode.OK })
    ok.setStatus({ code: api.SpanStatusCode.ERROR, message: 'ignored' })
    ok.end()
    const bare = lib().startSpan('bare')
    bare.setStatus({ code: api.SpanStatusCode.ERROR })
    bare.end()
    assert.equal(named('failed').error, 1)
    assert.equal(named('failed').meta['error.message'], 'boom')
    assert.equal(named('ok').error, 0)
    assert.equal(named('ok').meta['error.message'], undefined)
    assert.equal(named('bare').error, 1, 'ERROR marks the span even without a message')
  })

  test('recordException: error tags without marking the span, and an event named after the error', () => {
    const span = lib().startSpan('op')
    const err = new RangeError('out of range')
    const at = Date.now() - 10
    span.recordException(err, at)
    span.recordException('plain text')
    span.end()
    const out = only()
    assert.equal(out.error, 0, 'only a status of ERROR marks the span')
    assert.equal(out.meta['error.type'], 'RangeError')
    assert.equal(out.meta['error.message'], 'plain text')
    assert.equal(out.meta['error.stack'], err.stack)
    assert.deepEqual(
      out.events.map((e) => [e.name, e.time, e.attributes]),
      [
        ['RangeError', at, { 'exception.message': 'out of range', 'exception.stacktrace': err.stack }],
        ['Error', out.events[1]?.time, { 'exception.message': 'plain text' }]
      ]
    )
  })

  test('events take attributes and times in every OpenTelemetry form; links come from start, addLink and addLinks', () => {
    const other = lib().startSpan('other')
    const otherContext = other.spanContext()
    other.end()
    const span = lib().startSpan('op', { links: [{ context: otherContext, attributes: { reason: 'start' } }] })
    span.addEvent('plain')
    span.addEvent('attrs', { k: 'v', n: 1, list: ['a'] })
    span.addEvent('at date', new Date(1_700_000_000_001))
    span.addEvent('at hrtime', { k: 1 }, [1_700_000_000, 2_500_000])
    // Epoch ms after the process started; a smaller number is a performance.now() reading, as OpenTelemetry reads it.
    const epoch = Date.now() - 3
    span.addEvent('at epoch', epoch)
    const perf = performance.now() - 2
    span.addEvent('at performance', perf)
    const remote = { traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', traceFlags: 1, traceState: api.createTraceState('dd=s:2;o:rum,vendor=x') }
    span.addLink({ context: remote, attributes: { reason: 'added' } })
    span.addLinks([{ context: { ...remote, spanId: '00000000000000aa', traceFlags: 0 } }])
    span.addLink({ context: { traceId: 'zz', spanId: 'nope', traceFlags: 0 } })
    span.end()
    const out = named('op')
    assert.deepEqual(out.events.map((e) => e.name), ['plain', 'attrs', 'at date', 'at hrtime', 'at epoch', 'at performance'])
    assert.deepEqual(out.events[1]?.attributes, { k: 'v', n: 1, list: ['a'] })
    assert.equal(out.events[2]?.time, 1_700_000_000_001)
    assert.equal(out.events[3]?.time, 1_700_000_000_002.5)
    assert.deepEqual(out.events[3]?.attributes, { k: 1 })
    assert.equal(out.events[4]?.time, epoch)
    assert.ok(Math.abs((out.events[5]?.time ?? 0) - (performance.timeOrigin + perf)) < 0.01)
    const links = out.links.map((l) => ({ traceIdHigh: l.context.traceIdHigh, traceId: l.context.traceId, spanId: l.context.spanId, priority: l.context.samplingPriority, tracestate: l.context.tracestate, attributes: l.attributes }))
    const [first, second, third] = links
    assert.equal(first?.spanId, BigInt('0x' + otherContext.spanId))
    assert.deepEqual(first?.attributes, { reason: 'start' })
    assert.deepEqual(second, { traceIdHigh: '0af7651916cd43dd', traceId: 0x8448eb211c80319cn, spanId: 0xb7ad6b7169203331n, priority: 1, tracestate: 'dd=s:2;o:rum,vendor=x', attributes: { reason: 'added' } })
    assert.equal(third?.spanId, 0xaan)
    assert.equal(third?.priority, 0)
    assert.equal(links.length, 3, 'a link with bad ids is dropped')
  })

  test('span times: a start and an end in every OpenTelemetry form', () => {
    const start = Date.now() - 1000
    lib().startSpan('dates', { startTime: new Date(start) }).end(new Date(start + 250))
    lib().startSpan('hrtime', { startTime: [Math.floor(start / 1000), (start % 1000) * 1e6] }).end([Math.floor(start / 1000), (start % 1000) * 1e6 + 5e8])
    const origin = performance.timeOrigin
    const perf = performance.now() - 100
    lib().startSpan('performance', { startTime: perf }).end(perf + 40)
    assert.equal(named('dates').startTime, start)
    assert.equal(named('dates').duration, 250)
    assert.equal(named('hrtime').duration, 500)
    assert.ok(Math.abs(named('performance').startTime - (origin + perf)) < 0.01)
    assert.ok(Math.abs(named('performance').duration - 40) < 0.01)
  })

  test('updateName renames the operation of a span the bridge started; on a span the tracer started it sets the resource', () => {
    const span = lib().startSpan('first')
    span.updateName('second')
    span.end()
    assert.equal(only().name, 'second')
    assert.equal(only().resource, 'first', 'the resource stays, as dd-trace')
    exporter.reset()
    tracer.trace('core.op', () => {
      api.trace.getActiveSpan()?.updateName('renamed resource')
      api.trace.getActiveSpan()?.end()
    })
    assert.equal(only().name, 'core.op')
    assert.equal(only().resource, 'renamed resource')
  })

  test('one trace whichever API makes each span: OpenTelemetry inside the tracer\'s spans and the other way round', async () => {
    await tracer.trace('request', async (root) => {
      const otelSpan = api.trace.getActiveSpan()
      assert.ok(otelSpan, 'the tracer\'s active span is OpenTelemetry\'s active span')
      assert.equal(otelSpan.spanContext().spanId, root.context().spanId.toString(16).padStart(16, '0'))
      otelSpan.setAttribute('from.otel', 'yes')
      assert.equal(api.trace.getActiveSpan(), otelSpan, 'the same object on every read')
      await lib().startActiveSpan('otel.work', async (span) => {
        assert.equal(api.trace.getActiveSpan(), span)
        await new Promise((resolve) => setImmediate(resolve))
        tracer.trace('core.inner', (inner) => {
          assert.equal(api.trace.getActiveSpan()?.spanContext().spanId, inner.context().spanId.toString(16).padStart(16, '0'))
          lib().startSpan('otel.leaf').end()
        })
        assert.equal(tracer.activeSpan()?.name, 'otel.work', 'the bridge\'s span is the tracer\'s active span')
        span.end()
      })
    })
    const byName = new Map(exporter.spans().map((s) => [s.name, s]))
    const root = byName.get('request')!
    assert.equal(root.meta['from.otel'], 'yes', 'writes through getActiveSpan reach the tracer\'s span')
    assert.equal(byName.get('otel.work')?.parentId, root.spanId)
    assert.equal(byName.get('core.inner')?.parentId, byName.get('otel.work')?.spanId)
    assert.equal(byName.get('otel.leaf')?.parentId, byName.get('core.inner')?.spanId)
    assert.equal(new Set(exporter.spans().map((s) => s.traceId)).size, 1)
  })

  test('a context\'s other values stay active under the tracer\'s spans; the root context starts a new trace', () => {
    const key = api.createContextKey('my-lib.key')
    const baggage = api.propagation.createBaggage({ 'user.id': { value: 'u42' } })
    const ctx = api.propagation.setBaggage(api.context.active().setValue(key, 'kept'), baggage)
    api.context.with(ctx, () => {
      tracer.trace('core.op', (span) => {
        assert.equal(api.context.active().getValue(key), 'kept')
        assert.equal(api.propagation.getActiveBaggage()?.getEntry('user.id')?.value, 'u42')
        assert.equal(api.trace.getActiveSpan()?.spanContext().spanId, span.context().spanId.toString(16).padStart(16, '0'))
      })
    })
    tracer.trace('outer', (outer) => {
      api.context.with(api.ROOT_CONTEXT, () => {
        const fresh: CoreSpan = tracer.startSpan('fresh')
        assert.notEqual(fresh.context().traceId, outer.context().traceId)
        fresh.finish()
      })
      lib().startSpan('root option', { root: true }).end()
    })
    assert.notEqual(named('root option').traceId, named('outer').traceId)
    assert.equal(named('root option').parentId, 0n)
  })

  test('bind and the callback\'s this and arguments', () => {
    const ctx = api.context.active().setValue(api.createContextKey('k'), 1)
    const bound = api.context.bind(ctx, function (this: { n: number }, add: number) {
      return [this.n + add, api.context.active().getValue(api.createContextKey('k'))]
    })
    assert.deepEqual(bound.call({ n: 1 }, 2), [3, 1])
    assert.deepEqual(api.context.with(ctx, function (this: { n: number }, a: number, b: number) { return this.n + a + b }, { n: 1 }, 2, 3), 6)
  })

  test('propagation in the tracer\'s styles: inject writes what the tracer writes, extract continues the caller\'s trace', () => {
    const headers: Record<string, string> = {}
    lib().startActiveSpan('client.call', (span) => {
      api.propagation.inject(api.context.active(), headers)
      span.end()
    })
    const sent = named('client.call')
    assert.equal(headers['x-datadog-trace-id'], sent.traceId.toString())
    assert.equal(headers['x-datadog-parent-id'], sent.spanId.toString())
    assert.match(headers.traceparent ?? '', new RegExp(`^00-${sent.traceIdHigh}${sent.traceId.toString(16).padStart(16, '0')}-${sent.spanId.toString(16).padStart(16, '0')}-01$`))
    assert.deepEqual(api.propagation.fields(), ['x-datadog-trace-id', 'x-datadog-parent-id', 'x-datadog-sampling-priority', 'x-datadog-origin', 'x-datadog-tags', 'traceparent', 'tracestate', 'baggage'])

    exporter.reset()
    const incoming = {
      'x-datadog-trace-id': '1234567890123456789',
      'x-datadog-parent-id': '987654321',
      'x-datadog-sampling-priority': '2',
      'x-datadog-origin': 'synthetics',
      'x-datadog-tags': '_dd.p.tid=640cfd8d00000000,_dd.p.dm=-4',
      baggage: 'user.id=42,team=apm'
    }
    const extracted = api.propagation.extract(api.ROOT_CONTEXT, incoming)
    const remote = api.trace.getSpanContext(extracted)
    assert.equal(remote?.isRemote, true)
    assert.equal(remote?.traceId, '640cfd8d00000000112210f47de98115')
    assert.equal(api.propagation.getBaggage(extracted)?.getEntry('team')?.value, 'apm')
    const out: Record<string, string> = {}
    api.context.with(extracted, () => {
      lib().startActiveSpan('server.handle', { kind: api.SpanKind.SERVER }, (span) => {
        tracer.trace('core.child', () => {})
        const withBaggage = api.propagation.setBaggage(api.context.active(), api.propagation.getActiveBaggage()!.setEntry('extra', { value: 'x y' }))
        api.propagation.inject(withBaggage, out)
        span.end()
      })
      tracer.trace('core.sibling', () => {})
    })
    const server = named('server.handle')
    assert.equal(server.traceId, 1234567890123456789n)
    assert.equal(server.parentId, 987654321n)
    assert.equal(server.samplingPriority, 2)
    assert.equal(server.origin, 'synthetics')
    assert.equal(server.meta['baggage.user.id'], '42')
    assert.equal(named('core.child').parentId, server.spanId)
    assert.equal(named('core.sibling').parentId, 987654321n, 'a tracer span in the extracted context continues it too')
    assert.equal(out['x-datadog-sampling-priority'], '2')
    assert.equal(out['x-datadog-origin'], 'synthetics')
    assert.equal(out.baggage, 'user.id=42,team=apm,extra=x%20y', 'the context\'s baggage goes out')
  })

  test('a span context from another propagator (wrapSpanContext) is a parent, its dd tracestate read', () => {
    const parent = api.trace.wrapSpanContext({ traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', traceFlags: 1, traceState: api.createTraceState('dd=s:2;o:rum;t.dm:-4,vendor=x') })
    lib().startSpan('child', {}, api.trace.setSpan(api.ROOT_CONTEXT, parent)).end()
    const out = only()
    assert.equal(out.traceIdHigh, '0af7651916cd43dd')
    assert.equal(out.traceId, 0x8448eb211c80319cn)
    assert.equal(out.parentId, 0xb7ad6b7169203331n)
    assert.equal(out.samplingPriority, 2)
    assert.equal(out.origin, 'rum')
  })

  test('with openTelemetry off the bridge records nothing, and a parent still propagates', () => {
    const off = new TracerProvider({ tracer: createTracer({ service: 'off', exporter, flushOnExit: false, openTelemetry: false }), api: registerWith }).getTracer('lib')
    tracer.trace('request', (root) => {
      const span = off.startSpan('ignored')
      assert.equal(span.isRecording(), false)
      assert.equal(span.spanContext().spanId, root.context().spanId.toString(16).padStart(16, '0'))
      span.end()
    })
    assert.deepEqual(exporter.spans().map((s) => s.name), ['request'])
  })

  test('nothing a library passes throws', () => {
    const span = lib().startSpan(undefined as unknown as string, { kind: 99 as OtelApi.SpanKind, attributes: null as unknown as OtelApi.Attributes, links: [null as unknown as OtelApi.Link] })
    span.setAttribute(undefined as unknown as string, {})
    span.addEvent(42 as unknown as string, null as unknown as OtelApi.Attributes)
    span.addLink(undefined as unknown as OtelApi.Link)
    span.addLinks(undefined as unknown as OtelApi.Link[])
    span.setStatus(undefined as unknown as OtelApi.SpanStatus)
    span.recordException(new Proxy({}, { get: () => { throw new Error('boom') } }) as OtelApi.Exception)
    span.end('soon' as unknown as number)
    span.end()
    assert.equal(only().name, 'internal')
  })
}
