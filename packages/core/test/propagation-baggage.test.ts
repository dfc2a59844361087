import assert from 'node:assert/strict'
import { test } from 'node:test'
import { extractBaggage, formatBaggage, injectBaggage, parseBaggage } from '../src/propagation/baggage.js'
import { setOnObject } from '../src/propagation/carrier.js'

const plain = (items: Record<string, string> | undefined): Record<string, string> | undefined => (items === undefined ? undefined : { ...items })

test('members are read with values percent-decoded and properties ignored', () => {
  const items = parseBaggage('user.id=42, session.id = abc ;ttl=60,emoji=%F0%9F%98%80,sp=a%20b,plus=a+b', 64, 8192)
  assert.deepEqual(plain(items), { 'user.id': '42', 'session.id': 'abc', emoji: '😀', sp: 'a b', plus: 'a+b' })
})

test('a malformed member drops the whole header', () => {
  for (const bad of ['a=1,b', 'a=1,=2', 'a b=1', 'k\u00e9=1', '(a)=1']) assert.equal(parseBaggage(bad, 64, 8192), undefined, bad)
  assert.deepEqual(plain(parseBaggage('a=1,,b=2, ,', 64, 8192)), { a: '1', b: '2' }, 'empty members are skipped')
})

test('malformed percent escapes keep what can be decoded', () => {
  assert.equal(parseBaggage('a=%zz%41', 64, 8192)?.a, '%zzA')
  assert.equal(parseBaggage('a=%E2', 64, 8192)?.a, '\ufffd')
})

test('a __proto__ key is an ordinary item', () => {
  const items = parseBaggage('__proto__=x,constructor=y', 64, 8192)
  assert.equal(items?.__proto__, 'x')
  assert.equal(items?.constructor, 'y')
  assert.equal(Object.getPrototypeOf(items), null)
})

test('item limit: the 64th member is kept, the 65th is cut; 1000 members read only 64', () => {
  const header = (n: number): string => Array.from({ length: n }, (_, i) => `k${i}=v`).join(',')
  assert.equal(Object.keys(parseBaggage(header(64), 64, 8192) ?? {}).length, 64)
  const cut = parseBaggage(header(65), 64, 8192)
  assert.equal(Object.keys(cut ?? {}).length, 64)
  assert.equal(cut?.k64, undefined)
  assert.equal(Object.keys(parseBaggage(header(1000), 64, 100_000) ?? {}).length, 64)
})

test('byte limit: a header of exactly the limit is read whole, one byte more cuts the last member', () => {
  const make = (length: number): string => {
    const head = 'a=1,b='
    return head + 'x'.repeat(length - head.length)
  }
  assert.equal(Object.keys(parseBaggage(make(8192), 64, 8192) ?? {}).length, 2)
  assert.deepEqual(plain(parseBaggage(make(8193), 64, 8192)), { a: '1' })
  assert.equal(parseBaggage('x'.repeat(8193) + '=1', 64, 8192), undefined, 'nothing fits: no baggage')
})

test('extract reads repeated headers joined; limits of 0 turn baggage off', () => {
  assert.deepEqual(plain(extractBaggage({ baggage: ['a=1', 'b=2'] }, 64, 8192)), { a: '1', b: '2' })
  assert.equal(extractBaggage({ baggage: 'a=1' }, 0, 8192), undefined)
  assert.equal(extractBaggage({ baggage: 'a=1' }, 64, 0), undefined)
  assert.equal(extractBaggage({}, 64, 8192), undefined)
  assert.equal(extractBaggage({ baggage: '' }, 64, 8192), undefined)
})

test('inject percent-encodes values and skips keys that are not tokens', () => {
  const carrier: Record<string, unknown> = {}
  injectBaggage({ 'user.id': '42', 'a b': 'x', note: 'a,b=c;d é', bad: '\ud800' }, carrier, setOnObject, 64, 8192)
  assert.equal(carrier.baggage, 'user.id=42,note=a%2Cb%3Dc%3Bd%20%C3%A9')
  const none: Record<string, unknown> = {}
  injectBaggage({ 'a b': 'x' }, none, setOnObject, 64, 8192)
  assert.equal(none.baggage, undefined)
})

test('inject limits: items and bytes at the limit go out, past it the rest is cut', () => {
  const items: Record<string, string> = {}
  for (let i = 0; i < 70; i++) items[`k${i}`] = 'v'
  assert.equal(formatBaggage(items, 64, 8192).split(',').length, 64)
  assert.equal(formatBaggage({ a: '1', b: 'x'.repeat(8192 - 6) }, 64, 8192).length, 8192)
  assert.equal(formatBaggage({ a: '1', b: 'x'.repeat(8192 - 5) }, 64, 8192), 'a=1')
})

test('an empty value is a valid member: kept with the others, not a malformed header', () => {
  assert.deepEqual(plain(parseBaggage('a=,b=2', 64, 8192)), { a: '', b: '2' })
  assert.deepEqual(plain(parseBaggage('a= ;p=1, b = 2', 64, 8192)), { a: '', b: '2' })
  assert.deepEqual(plain(parseBaggage('a=', 64, 8192)), { a: '' })
})
