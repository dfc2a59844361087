import assert from 'node:assert/strict'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { resolveConfig } from '../src/config/config.js'
import type { TracerOptions } from '../src/tracer/options.js'
import { resolveSamplingConfig } from '../src/config/sampling-config.js'
import { CoreTracer } from '../src/tracer/tracer.js'
import { InMemoryExporter } from '../src/testing.js'

const emptyDir = mkdtempSync(join(tmpdir(), 'dd-sampling-config-'))

function resolve(env: Record<string, string>, options: TracerOptions = {}) {
  const warnings: string[] = []
  const config = resolveSamplingConfig(options, env, (m) => warnings.push(m))
  return { config, warnings }
}

test('defaults: no rules, no sample rate, 100 traces a second', () => {
  const { config, warnings } = resolve({})
  assert.deepEqual(config, { sampleRate: undefined, samplingRules: [], rateLimit: 100, spanSamplingRules: [] })
  assert.deepEqual(warnings, [])
  const full = resolveConfig({}, {}, () => {}, emptyDir)
  assert.equal(full.rateLimit, 100)
  assert.deepEqual(full.samplingRules, [])
})

test('the variables are read: rules as JSON with snake_case rates, the sample rate, the limit, span rules', () => {
  const { config, warnings } = resolve({
    DD_TRACE_SAMPLING_RULES: JSON.stringify([
      { service: 'web*', name: 'express.request', resource: 'GET /health*', tags: { 'http.status_code': 200 }, sample_rate: 0.1, max_per_second: 5 },
      { sample_rate: 0.5, provenance: 'customer' }
    ]),
    DD_TRACE_SAMPLE_RATE: '0.25',
    DD_TRACE_RATE_LIMIT: '50',
    DD_SPAN_SAMPLING_RULES: '[{"service":"db","name":"pg.query","sample_rate":1,"max_per_second":10}]'
  })
  assert.deepEqual(warnings, [])
  assert.deepEqual(config.samplingRules, [
    { service: 'web*', name: 'express.request', resource: 'GET /health*', tags: { 'http.status_code': '200' }, sampleRate: 0.1, maxPerSecond: 5 },
    { sampleRate: 0.5 }
  ])
  assert.equal(config.sampleRate, 0.25)
  assert.equal(config.rateLimit, 50)
  assert.deepEqual(config.spanSamplingRules, [{ service: 'db', name: 'pg.query', sampleRate: 1, maxPerSecond: 10 }])
})

test('rules JSON that does not parse: one warning naming the variable, no rules, the rest applies', () => {
  const { config, warnings } = resolve({ DD_TRACE_SAMPLING_RULES: '[{"sample_rate": 0.5,}]', DD_TRACE_SAMPLE_RATE: '0.5' })
  assert.equal(warnings.length, 1)
  assert.match(warnings[0], /^DD_TRACE_SAMPLING_RULES is not valid JSON/)
  assert.deepEqual(config.samplingRules, [])
  assert.equal(config.sampleRate, 0.5)
  const notArray = resolve({ DD_TRACE_SAMPLING_RULES: '{"sample_rate": 0.5}' })
  assert.equal(notArray.warnings.length, 1)
  assert.match(notArray.warnings[0], /^DD_TRACE_SAMPLING_RULES: not an array of rules; no rules from it apply/)
})

test('bad rules are left out with one warning that lists them; the good ones still apply in order', () => {
  const { config, warnings } = resolve({
    DD_TRACE_SAMPLING_RULES: JSON.stringify([
      { service: 'a', sample_rate: 1.5 },
      { service: 'b', sample_rate: 0.2 },
      'not a rule',
      { service: 42 },
      { service: 'c', sampleRate: 0.1 },
      { service: 'd', tags: { team: ['x'] } },
      { service: 'e', max_per_second: 'ten' },
      { service: 'f' }
    ])
  })
  assert.deepEqual(config.samplingRules, [{ service: 'b', sampleRate: 0.2 }, { service: 'f', sampleRate: 1 }])
  assert.equal(warnings.length, 1)
  const [warning] = warnings
  assert.match(warning, /^DD_TRACE_SAMPLING_RULES: /)
  assert.match(warning, /rule 0: sample_rate 1\.5 is not a number from 0 to 1/)
  assert.match(warning, /rule 2: "not a rule" is not an object/)
  assert.match(warning, /rule 3: service 42 is not a string/)
  assert.match(warning, /rule 4: sampleRate is spelled sample_rate here/)
  assert.match(warning, /rule 5: tags\.team \["x"\] is not a string/)
  assert.match(warning, /rule 6: max_per_second "ten" is not a number/)
  assert.match(warning, /the 2 valid rules apply$/)
})

test('limits of sample_rate and DD_TRACE_SAMPLE_RATE: 0 and 1 accepted, just outside refused', () => {
  const rules = (rate: number) => resolve({ DD_TRACE_SAMPLING_RULES: JSON.stringify([{ sample_rate: rate }]) })
  assert.equal(rules(0).config.samplingRules.length, 1)
  assert.equal(rules(1).config.samplingRules.length, 1)
  assert.equal(rules(-0.001).warnings.length, 1)
  assert.equal(rules(1.001).warnings.length, 1)
  assert.equal(resolve({ DD_TRACE_SAMPLE_RATE: '0' }).config.sampleRate, 0)
  assert.equal(resolve({ DD_TRACE_SAMPLE_RATE: '1' }).config.sampleRate, 1)
  for (const bad of ['1.01', '-0.01', 'half', 'NaN']) {
    const { config, warnings } = resolve({ DD_TRACE_SAMPLE_RATE: bad })
    assert.equal(config.sampleRate, undefined)
    assert.equal(warnings.length, 1)
    assert.match(warnings[0], /^DD_TRACE_SAMPLE_RATE=/)
  }
})

test('DD_TRACE_RATE_LIMIT: any number (below 0 no limit, 0 none); otherwise a warning and 100', () => {
  assert.equal(resolve({ DD_TRACE_RATE_LIMIT: '-1' }).config.rateLimit, -1)
  assert.equal(resolve({ DD_TRACE_RATE_LIMIT: '0' }).config.rateLimit, 0)
  assert.equal(resolve({ DD_TRACE_RATE_LIMIT: '2.5' }).config.rateLimit, 2.5)
  const { config, warnings } = resolve({ DD_TRACE_RATE_LIMIT: 'lots' })
  assert.equal(config.rateLimit, 100)
  assert.deepEqual(warnings, ['DD_TRACE_RATE_LIMIT="lots" is not a number; using 100'])
})

test('span rules from a file; the inline variable wins over the file, with a warning', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dd-span-rules-'))
  const file = join(dir, 'rules.json')
  writeFileSync(file, '[{"service":"db*","sample_rate":0.5}]')
  const fromFile = resolve({ DD_SPAN_SAMPLING_RULES_FILE: file })
  assert.deepEqual(fromFile.warnings, [])
  assert.deepEqual(fromFile.config.spanSamplingRules, [{ service: 'db*', sampleRate: 0.5 }])
  const both = resolve({ DD_SPAN_SAMPLING_RULES_FILE: file, DD_SPAN_SAMPLING_RULES: '[{"name":"x"}]' })
  assert.deepEqual(both.config.spanSamplingRules, [{ name: 'x', sampleRate: 1 }])
  assert.equal(both.warnings.length, 1)
  assert.match(both.warnings[0], /DD_SPAN_SAMPLING_RULES_FILE is ignored/)
})

test('a span rules file that is missing or holds bad JSON: one warning naming the variable', () => {
  const missing = resolve({ DD_SPAN_SAMPLING_RULES_FILE: join(emptyDir, 'nope.json') })
  assert.deepEqual(missing.config.spanSamplingRules, [])
  assert.equal(missing.warnings.length, 1)
  assert.match(missing.warnings[0], /^DD_SPAN_SAMPLING_RULES_FILE=".*nope\.json" could not be read \(ENOENT\)/)
  const file = join(mkdtempSync(join(tmpdir(), 'dd-span-rules-')), 'bad.json')
  writeFileSync(file, 'service: db')
  const bad = resolve({ DD_SPAN_SAMPLING_RULES_FILE: file })
  assert.equal(bad.warnings.length, 1)
  assert.match(bad.warnings[0], /^DD_SPAN_SAMPLING_RULES_FILE \(.*bad\.json\) is not valid JSON/)
  const inline = resolve({ DD_SPAN_SAMPLING_RULES: '[{"sample_rate":2}]' })
  assert.equal(inline.warnings.length, 1)
  assert.match(inline.warnings[0], /^DD_SPAN_SAMPLING_RULES: rule 0: sample_rate 2 is not a number from 0 to 1/)
})

test('options win over the variables, and may use RegExps', () => {
  const { config, warnings } = resolve(
    { DD_TRACE_SAMPLING_RULES: 'not json at all', DD_TRACE_SAMPLE_RATE: '0.9', DD_TRACE_RATE_LIMIT: '5', DD_SPAN_SAMPLING_RULES: '[]' },
    { samplingRules: [{ resource: /^GET \/health/, sampleRate: 0 }], sampleRate: 0.1, rateLimit: -1, spanSamplingRules: [{ name: 'db.*' }] }
  )
  assert.deepEqual(warnings, [], 'variables that options replace are not read')
  assert.deepEqual(config.samplingRules, [{ resource: /^GET \/health/, sampleRate: 0 }])
  assert.equal(config.sampleRate, 0.1)
  assert.equal(config.rateLimit, -1)
  assert.deepEqual(config.spanSamplingRules, [{ name: 'db.*', sampleRate: 1 }])
})

test('an option that makes no sense is a TypeError naming it', () => {
  const typeError = (name: RegExp) => (e: unknown) => e instanceof TypeError && name.test(e.message)
  assert.throws(() => resolve({}, { sampleRate: 1.5 }), typeError(/option sampleRate must be a number from 0 to 1, got 1\.5/))
  assert.throws(() => resolve({}, { sampleRate: '0.5' as unknown as number }), typeError(/option sampleRate .* got "0\.5"/))
  assert.throws(() => resolve({}, { rateLimit: Number.NaN }), typeError(/option rateLimit/))
  assert.throws(() => resolve({}, { samplingRules: {} as unknown as [] }), typeError(/option samplingRules: not an array/))
  assert.throws(() => resolve({}, { samplingRules: [{ sampleRate: 2 }] }), typeError(/option samplingRules: rule 0: sampleRate 2 is not a number from 0 to 1/))
  assert.throws(
    () => resolve({}, { samplingRules: [{ sample_rate: 0.5 } as unknown as { sampleRate: number }] }),
    typeError(/option samplingRules: rule 0: sample_rate is spelled sampleRate here/)
  )
  assert.throws(() => resolve({}, { spanSamplingRules: [{ service: 5 as unknown as string }] }), typeError(/option spanSamplingRules: rule 0: service 5/))
  // The last values accepted.
  assert.equal(resolve({}, { sampleRate: 1 }).config.sampleRate, 1)
  assert.equal(resolve({}, { sampleRate: 0 }).config.sampleRate, 0)
})

test('a tracer reports a bad sampling variable once on its diagnostic sink, and still samples', () => {
  const saved = process.env.DD_TRACE_SAMPLING_RULES
  process.env.DD_TRACE_SAMPLING_RULES = '[{"service":"svc","sample_rate":7},{"service":"svc","sample_rate":0}]'
  try {
    const lines: string[] = []
    const exporter = new InMemoryExporter()
    const tracer = new CoreTracer({ service: 'svc', exporter, flushOnExit: false, diagnostics: { write: (line) => lines.push(line) } })
    assert.equal(lines.length, 1)
    assert.match(lines[0], /DD_TRACE_SAMPLING_RULES: rule 0: sample_rate 7 is not a number from 0 to 1; the 1 valid rule applies/)
    tracer.startSpan('op').finish()
    assert.equal(exporter.spans()[0].samplingPriority, -1, 'the valid rule (rate 0) decided')
  } finally {
    if (saved === undefined) delete process.env.DD_TRACE_SAMPLING_RULES
    else process.env.DD_TRACE_SAMPLING_RULES = saved
  }
})
