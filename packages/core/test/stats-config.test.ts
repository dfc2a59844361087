import assert from 'node:assert/strict'
import { test } from 'node:test'
import { resolveConfig } from '../src/config/config.js'
import type { TracerOptions } from '../src/tracer/options.js'

function resolve(options: TracerOptions, env: Record<string, string>): { statsComputation: boolean; warnings: string[] } {
  const warnings: string[] = []
  const config = resolveConfig(options, env, (message) => warnings.push(message), '/nonexistent')
  return { statsComputation: config.statsComputation, warnings }
}

test('statsComputation: off by default, DD_TRACE_STATS_COMPUTATION_ENABLED turns it on, the option wins', () => {
  assert.deepEqual(resolve({}, {}), { statsComputation: false, warnings: [] })
  assert.deepEqual(resolve({}, { DD_TRACE_STATS_COMPUTATION_ENABLED: 'true' }), { statsComputation: true, warnings: [] })
  assert.deepEqual(resolve({}, { DD_TRACE_STATS_COMPUTATION_ENABLED: '1' }), { statsComputation: true, warnings: [] })
  assert.deepEqual(resolve({ statsComputation: false }, { DD_TRACE_STATS_COMPUTATION_ENABLED: 'true' }), { statsComputation: false, warnings: [] })
})

test('a bad DD_TRACE_STATS_COMPUTATION_ENABLED warns once, naming it and the default; a bad option is a TypeError', () => {
  const { statsComputation, warnings } = resolve({}, { DD_TRACE_STATS_COMPUTATION_ENABLED: 'yes please' })
  assert.equal(statsComputation, false)
  assert.equal(warnings.length, 1)
  assert.match(warnings[0], /DD_TRACE_STATS_COMPUTATION_ENABLED="yes please" is not true or false; using false/)
  assert.throws(() => resolve({ statsComputation: 'true' as unknown as boolean }, {}), { name: 'TypeError', message: /option statsComputation must be true or false/ })
})
