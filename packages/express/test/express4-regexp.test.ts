import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { test } from 'node:test'
import { readExpress4Regexp } from '../src/express4-regexp.js'
import { layerPattern, type LayerLike } from '../src/layer-pattern.js'

// Express 4's own Layer, so that every RegExp below is exactly what an Express 4 app holds.
const require = createRequire(import.meta.url)
const Layer = require('express4/lib/router/layer.js') as new (path: unknown, options: object, fn: () => void) => LayerLike & {
  regexp: RegExp
  keys: { name: string | number }[]
}
const noop = (): void => {}

function mount(path: unknown, options: { strict?: boolean; sensitive?: boolean } = {}) {
  return new Layer(path, { end: false, strict: false, sensitive: false, ...options }, noop)
}

test('Express 4 mount RegExps read back into the pattern they were built from', () => {
  const cases: [string, string][] = [
    ['/api', '/api'],
    ['/api/', '/api'],
    ['/users/:id', '/users/:id'],
    ['/users/:id?', '/users/:id?'],
    ['/v1/:tenant/users/:id', '/v1/:tenant/users/:id'],
    ['/:from-:to', '/:from-:to'],
    ['/file.:ext', '/file.:ext'],
    ['/file.:ext?', '/file.:ext?'],
    ['/:id(\\d+)', '/:id(\\d+)'],
    ['/files/*', '/files/*'],
    ['/user(s)?/:id', '/user(s)?/:id'],
    ['/:path*', '/:path*'],
    ['/a-b_c~d', '/a-b_c~d']
  ]
  for (const [path, expected] of cases) {
    const layer = mount(path)
    assert.deepEqual(readExpress4Regexp(layer.regexp.source, layer.keys), [expected], path)
    assert.equal(layerPattern(layer).fixed, expected, path)
  }
})

test('strict and case-sensitive routers read back the same way', () => {
  for (const options of [{ strict: true }, { sensitive: true }, { strict: true, sensitive: true }]) {
    assert.equal(layerPattern(mount('/users/:id', options)).fixed, '/users/:id', JSON.stringify(options))
  }
})

test('an array mount path reads back per alternative and resolves per request', () => {
  const layer = mount(['/a', '/b/:k'])
  assert.deepEqual(readExpress4Regexp(layer.regexp.source, layer.keys), ['/a', '/b/:k'])
  const pattern = layerPattern(layer)
  assert.equal(pattern.fixed, undefined)
  assert.deepEqual(pattern.match('/a/x'), { consumed: '/a', pattern: '/a' })
  assert.deepEqual(pattern.match('/b/9/x'), { consumed: '/b/9', pattern: '/b/:k' })
  assert.equal(pattern.match('/c'), undefined)
})

test('a RegExp the app passed is shown as a RegExp, never misread', () => {
  for (const regexp of [/^\/v\d+/, /^\/(?<year>\d{4})/, /x/, /^\/a|^\/b/]) {
    const layer = mount(regexp)
    assert.equal(layerPattern(layer).fixed, `(${String(regexp)})`, String(regexp))
  }
  // A RegExp equal to the one Express builds for a path matches exactly that path, so it reads as it.
  assert.equal(layerPattern(mount(/^\/api\/?(?=\/|$)/)).fixed, '/api')
  assert.equal(readExpress4Regexp('^\\/v\\d+', []), undefined)
  assert.equal(readExpress4Regexp('^(?<year>\\d{4})$', [{ name: 'year' }]), undefined)
})

test('the root and catch-all mounts', () => {
  assert.equal(layerPattern(mount('/')).fixed, '')
  assert.equal(layerPattern(mount('*')).fixed, '*')
  assert.deepEqual(layerPattern(mount('/')).match('/anything'), { consumed: '', pattern: '' })
})
