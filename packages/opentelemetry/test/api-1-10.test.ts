import assert from 'node:assert/strict'
import { test } from 'node:test'
import * as api from 'otel-api-1-10'
import * as api19 from 'otel-api-1-9'
import { bridgeSuite } from './support/bridge-suite.js'
import { BridgeSpan } from '../src/bridge-span.js'

// A library and app on @opentelemetry/api 1.10, the bridge registered through the copy the package
// resolves (its peer, 1.10 here).
bridgeSuite(api, undefined)

test('a library on an older 1.x API sees the bridge registered through a newer one', () => {
  assert.equal(api19.trace.getTracer('old-lib').startSpan('x') instanceof BridgeSpan, true)
})

test('attach (1.10): a context made active until its token is disposed', () => {
  const key = api.createContextKey('attached')
  const token = api.context.attach(api.context.active().setValue(key, 'yes'))
  assert.equal(api.context.active().getValue(key), 'yes')
  token.dispose()
  assert.equal(api.context.active().getValue(key), undefined)
})
