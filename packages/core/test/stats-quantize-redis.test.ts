import assert from 'node:assert/strict'
import { test } from 'node:test'
import { quantizeRedis } from '../src/stats/quantize-redis.js'

test('Redis resources keep command names only, as the agent quantizes them', () => {
  const cases: [string, string][] = [
    ['GET my_key', 'GET'],
    ['get my_key', 'GET'],
    ['SET le_key le_value', 'SET'],
    ['\n\n  \nSET foo bar  \n  \n\n  ', 'SET'],
    ['CONFIG SET parameter value', 'CONFIG SET'],
    ['CLIENT', 'CLIENT'],
    ['CLIENT LIST', 'CLIENT LIST'],
    ['SET toto tata \n \n  EXPIRE toto 15  ', 'SET EXPIRE'],
    ['MULTI\nSET k1 v1\nSET k2 v2\nSET k3 v3\nDEL to_del\nEXEC', 'MULTI SET SET ...'],
    ['GET...', '...'],
    ['CLIENT ...', '...'],
    ['GET k...', 'GET'],
    ['GET k1\nGET k2\nG...', 'GET GET ...'],
    ['GET k...\nDE...\nMS...', 'GET ...'],
    ['GET k1\nDE...\nGET k2', 'GET GET'],
    ['UNKNOWN 123', 'UNKNOWN'],
    ['', ''],
    ['\t', '\t']
  ]
  for (const [input, want] of cases) assert.equal(quantizeRedis(input), want, JSON.stringify(input))
})
