import assert from 'node:assert/strict'
import { test } from 'node:test'
import { joinRoute, patternFromMatch, patternText } from '../src/route-text.js'

test('patterns read as written; RegExps as dd-trace writes them; anything else has no text', () => {
  assert.equal(patternText('/users/:id'), '/users/:id')
  assert.equal(patternText(/^\/re(gex)?$/i), '(/^\\/re(gex)?$/i)')
  assert.equal(patternText(['/a']), undefined)
  assert.equal(patternText(undefined), undefined)
})

test('joining mounts and the route: slashes, empty parts and the root', () => {
  const cases: [string[], string][] = [
    [[], '/'],
    [['', '/'], '/'],
    [['/api', '/users/:id'], '/api/users/:id'],
    [['/api/', '/', '/users/'], '/api/users'],
    [['/api', 'items'], '/api/items'],
    [['/api', '(/^\\/x/)'], '/api(/^\\/x/)'],
    [['/files', '*'], '/files/*'],
    [['/', '/'], '/']
  ]
  for (const [parts, expected] of cases) assert.equal(joinRoute(parts), expected, JSON.stringify(parts))
})

test('a mount pattern is rebuilt from its match for routers that keep none', () => {
  const cases: [string, Record<string, unknown>, string][] = [
    ['/api', {}, '/api'],
    ['/users/42', { id: '42' }, '/users/:id'],
    ['/v1/acme/users/42', { tenant: 'acme', id: '42' }, '/v1/:tenant/users/:id'],
    // Two parameters with one value: each takes one segment, left to right.
    ['/x/7/7', { a: '7', b: '7' }, '/x/:a/:b'],
    // When a literal segment equals a value the first one is taken: right for `/:lang/docs`, wrong for
    // `/docs/:lang`; the README names this limit of router < 2.3.
    ['/docs/docs', { lang: 'docs' }, '/:lang/docs'],
    ['/files/a/b', { rest: ['a', 'b'] }, '/files/*rest'],
    ['/caf%C3%A9', { name: 'café' }, '/:name'],
    ['/bad/%E0%A4%A', { v: '%E0%A4%A' }, '/bad/:v'],
    ['/from-to', { from: 'from', to: 'to' }, '/from-to']
  ]
  for (const [matched, params, expected] of cases) assert.equal(patternFromMatch(matched, params), expected, matched)
})
