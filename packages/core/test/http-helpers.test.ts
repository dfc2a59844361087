import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { clientIp } from '../src/server/client-ip.js'
import { addHeaderTags, parseHeaderTags } from '../src/server/header-tags.js'
import { MAX_URL_LENGTH, obfuscateUrl, queryObfuscator } from '../src/server/query-obfuscation.js'
import { parseStatusRanges, statusPredicate } from '../src/config/status-ranges.js'

const byDefault = queryObfuscator(undefined)!

test('the default query redaction removes secrets and keeps the rest', () => {
  const cases: [string, string][] = [
    ['/a?key1=val1&token=a0b21ce2&key2=val2&password=something', '/a?key1=val1&<redacted>&key2=val2&<redacted>'],
    ['/login?user=bob&pwd=hunter2', '/login?user=bob&<redacted>'],
    ['/x?api_key=123&page=2', '/x?<redacted>&page=2'],
    ['/x?application_key=123', '/x?<redacted>'],
    ['/x?Authorization=Bearer%20abc', '/x?<redacted>'],
    ['/x?q=%7B%22password%22%3A%22s3cr3t%22%7D', '/x?q=%7B<redacted>%7D'],
    ['/x?t=ghp_abcdefghijklmnopqrstuvwxyz0123456789', '/x?t=<redacted>'],
    ['/x?page=2&sort=asc', '/x?page=2&sort=asc'],
    ['/no-query', '/no-query']
  ]
  for (const [input, expected] of cases) assert.equal(obfuscateUrl(input, byDefault), expected, input)
})

test('a JWT keeps the delimiter in front of it', () => {
  const jwt = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.abcDEF123'
  assert.equal(obfuscateUrl(`/x?id=${jwt}`, byDefault), '/x?id=<redacted>')
})

test('query redaction settings: off, strip, custom regex, invalid', () => {
  assert.equal(obfuscateUrl('/x?password=1', queryObfuscator('')!), '/x?password=1')
  assert.equal(obfuscateUrl('/x?password=1', queryObfuscator(false)!), '/x?password=1')
  assert.equal(obfuscateUrl('/x?password=1&a=2', queryObfuscator('.*')!), '/x')
  assert.equal(obfuscateUrl('/x?a=1&ssn=123', queryObfuscator('ssn=\\d+')!), '/x?a=1&<redacted>')
  assert.equal(obfuscateUrl('/x?SSN=1&ssn=2', queryObfuscator(/ssn=\d/i)!), '/x?<redacted>&<redacted>')
  assert.equal(queryObfuscator('(unclosed'), undefined)
})

test('a huge URL is cut before redaction: the limit is kept, one more character is cut', () => {
  const exact = '/p?' + 'a'.repeat(MAX_URL_LENGTH - 3)
  assert.equal(obfuscateUrl(exact, byDefault), exact)
  assert.equal(obfuscateUrl(exact + 'b', byDefault), exact)
  const start = performance.now()
  obfuscateUrl('/p?' + 'password=x&'.repeat(20_000), byDefault)
  assert.ok(performance.now() - start < 200, 'redaction of a hostile query stays fast')
})

test('status ranges parse lists and ranges; malformed text is refused', () => {
  const table = parseStatusRanges('400-403, 429,500-599')!
  const isError = statusPredicate(table)
  assert.deepEqual([399, 400, 403, 404, 429, 499, 500, 599, 600].map(isError), [false, true, true, false, true, false, true, true, false])
  assert.equal(parseStatusRanges('5xx'), undefined)
  assert.equal(parseStatusRanges('599-500'), undefined)
  assert.equal(parseStatusRanges(''), undefined)
  assert.equal(parseStatusRanges('99'), undefined)
})

test('header tags: default and custom names, request and response', () => {
  const tags = parseHeaderTags(['X-Request-ID', ' user-agent:http.ua ', '', 'content-type'])
  assert.deepEqual(tags, [
    { header: 'x-request-id', tag: undefined },
    { header: 'user-agent', tag: 'http.ua' },
    { header: 'content-type', tag: undefined }
  ])
  const meta: Record<string, string> = {}
  addHeaderTags(meta, tags, { 'x-request-id': 'abc', 'user-agent': 'curl' }, (name) => (name === 'content-type' ? 'application/json' : undefined))
  assert.deepEqual(meta, {
    'http.request.headers.x-request-id': 'abc',
    'http.ua': 'curl',
    'http.response.headers.content-type': 'application/json'
  })
})

test('client ip: first public address wins, then private, then the socket', () => {
  assert.equal(clientIp({ 'x-forwarded-for': '10.0.0.1, 203.0.113.9' }, '127.0.0.1'), '203.0.113.9')
  assert.equal(clientIp({ 'x-forwarded-for': '10.0.0.1', 'x-real-ip': '192.168.1.2' }, '127.0.0.1'), '10.0.0.1')
  assert.equal(clientIp({}, '127.0.0.1'), '127.0.0.1')
  assert.equal(clientIp({ forwarded: 'for="[2001:db8::1]:4711";proto=http' }, undefined), '2001:db8::1')
  assert.equal(clientIp({ 'x-forwarded-for': 'garbage, 198.51.100.7:8080' }, undefined), '198.51.100.7')
  assert.equal(clientIp({ 'x-forwarded-for': '203.0.113.9', 'x-custom': '198.51.100.1' }, undefined, 'x-custom'), '198.51.100.1')
})

test('the default redaction prefilter never hides a secret the full pattern would redact', () => {
  const full = queryObfuscator(undefined)!
  assert.equal(full.kind, 'regex')
  const unfiltered = { ...(full), prefilter: undefined }
  const secrets = ['password=x', 'PWD=1', 'old_pwd2=z', 'passphrase=a', 'api-key=k', 'application_key_id=1', 'TOKEN=t', 'consumer_secret=s',
    'signature=s', 'Authorization=a', '%22secret%22%3A%22v%22', 'bearer%20abc.def', 'token:abcdefghij123', 'ghp_abcdefghijklmnopqrstuvwxyz0123456789',
    'x=eyJhbGciOi.eyJzdWIi.sig', '-----BEGIN%20RSA%20PRIVATE%20KEY-----abc-----END%20RSA%20PRIVATE%20KEY-----', `ssh-rsa%20${'A'.repeat(120)}`]
  fc.assert(
    fc.property(fc.string(), fc.constantFrom(...secrets), fc.string(), fc.boolean(), (before, secret, after, upper) => {
      const url = `/p?${before}&${upper ? secret.toUpperCase() : secret}&${after}`
      assert.equal(obfuscateUrl(url, full), obfuscateUrl(url, unfiltered))
    }),
    { numRuns: 2000 }
  )
  fc.assert(
    fc.property(fc.string({ unit: 'binary-ascii' }), (query) => {
      assert.equal(obfuscateUrl(`/p?${query}`, full), obfuscateUrl(`/p?${query}`, unfiltered))
    }),
    { numRuns: 2000 }
  )
})
