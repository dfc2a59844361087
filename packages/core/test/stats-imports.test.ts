import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import { test } from 'node:test'

// Client-side stats are computed here (concentrator, sketch, keys, payload encoding, P0 drop) and sent
// by the exporter: nothing in stats/ may reach for the exporter or the agent client, so the computing
// part can be tested and reused without a transport.

const dir = new URL('../src/stats/', import.meta.url)
const IMPORT = /^\s*(?:import|export)\b[^'"]*?from\s+['"]([^'"]+)['"]/gm

test('stats/ imports nothing from export/ or agent-client/', () => {
  const files = readdirSync(dir).filter((name) => name.endsWith('.ts'))
  assert.ok(files.includes('concentrator.ts'), files.join(', '))
  const offending: string[] = []
  for (const name of files) {
    for (const [, from] of readFileSync(new URL(name, dir), 'utf8').matchAll(IMPORT)) {
      if (from !== undefined && /(^|\/)(export|agent-client)\//.test(from)) offending.push(`${name} -> ${from}`)
    }
  }
  assert.deepEqual(offending, [])
})
