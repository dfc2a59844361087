import assert from 'node:assert/strict'
import { test } from 'node:test'
import { compilePattern, globMatch } from '../src/sampling/glob.js'

function match(pattern: string, subject: string | number | undefined): boolean {
  return compilePattern(pattern).matches(subject)
}

test('globs: * any run, ? exactly one character, the whole subject', () => {
  const cases: ReadonlyArray<readonly [string, string, boolean]> = [
    ['fooname', 'fooname', true],
    ['fooname**', 'fooname', true],
    ['**fooname', 'fooname', true],
    ['*', 'fooname', true],
    ['???????', 'fooname', true],
    ['??????', 'fooname', false],
    ['????????', 'fooname', false],
    ['??', 'fooname', false],
    ['*?', 'fooname', true],
    ['?*', 'fooname', true],
    ['f*o*e', 'fooname', true],
    ['f*o*m?', 'fooname', true],
    ['f*x*m?', 'fooname', false],
    ['foo', 'fooname', false],
    ['name', 'fooname', false],
    ['*name', 'fooname', true],
    ['foo*', 'fooname', true],
    ['a*b*c', 'aXbYbZc', true],
    ['a*b*c', 'aXbYbZcd', false],
    ['a*bc', 'abcbc', true],
    ['[ooNAM]', '[OOnam]', true],
    ['{ooNAM}', '[OOnam]', false],
    ['a.b', 'aXb', false],
    ['', '', true],
    ['', 'a', false],
    ['?', '', false],
    ['GET /users/*', 'GET /users/42', true],
    ['GET /users/*', 'POST /users/42', false]
  ]
  for (const [pattern, subject, expected] of cases) {
    assert.equal(match(pattern, subject), expected, `${JSON.stringify(pattern)} vs ${JSON.stringify(subject)}`)
  }
})

test('globs are case-insensitive, outside ASCII too', () => {
  assert.equal(match('fooname', 'FOONAME'), true)
  assert.equal(match('fooNAME', 'FOOname'), true)
  assert.equal(match('Web-*', 'WEB-API'), true)
  assert.equal(match('CAFÉ*', 'café-au-lait'), true)
  assert.equal(match('ÉTÉ', 'été'), true)
  assert.equal(match('été', 'ete'), false)
})

test('a pathological pattern stays linear: one backtrack point', () => {
  const subject = 'a'.repeat(50_000)
  const started = performance.now()
  assert.equal(match('*a*a*a*a*a*a*a*a*b', subject), false)
  assert.equal(match('*a*a*a*a*a*a*a*a*a', subject), true)
  assert.ok(performance.now() - started < 1000, 'no exponential backtracking')
})

test('numbers: integers match as decimal text, fractions only an all-* pattern', () => {
  assert.equal(match('200', 200), true)
  assert.equal(match('5??', 503), true)
  assert.equal(match('5??', 200), false)
  assert.equal(match('200', 200.5), false)
  assert.equal(match('200*', 200.5), false)
  assert.equal(match('*', 200.5), true)
  assert.equal(match('**', 200.5), true)
})

test('a missing subject matches only an all-* pattern (or an absent one)', () => {
  assert.equal(match('x', undefined), false)
  assert.equal(match('?*', undefined), false)
  assert.equal(match('*', undefined), true)
  assert.equal(match('***', undefined), true)
  assert.equal(compilePattern(undefined).matches(undefined), true)
  assert.equal(compilePattern(undefined).matchesAll, true)
  assert.equal(compilePattern('*').matchesAll, true)
  assert.equal(compilePattern('*a').matchesAll, false)
})

test('RegExp patterns (programmatic rules): tested as given, and a global flag does not make them alternate', () => {
  const matcher = compilePattern(/^GET \/health/g)
  for (let i = 0; i < 4; i++) assert.equal(matcher.matches('GET /healthz'), true)
  assert.equal(matcher.matches('POST /healthz'), false)
  assert.equal(compilePattern(/^5\d\d$/).matches(502), true)
  assert.equal(compilePattern(/x/).matches(undefined), false)
  // Case-sensitive unless the RegExp says otherwise.
  assert.equal(compilePattern(/^get/).matches('GET'), false)
  assert.equal(compilePattern(/^get/i).matches('GET'), true)
})

test('globMatch takes an already lower-cased pattern', () => {
  assert.equal(globMatch('abc', 'ABC'), true)
  assert.equal(globMatch('ABC', 'abc'), false)
})
