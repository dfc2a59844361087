import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { obfuscateSqlForDisplay } from '../src/store/sql-obfuscate.js'
import { cutUtf8 } from '../src/store/span-display.js'
import { sendTraces, start } from './http-helpers.js'
import { int64, span, uint64 } from './test-encoder.js'

interface SpanView {
  span_id: string
  resource: string
  resource_raw?: string
  meta: Record<string, string>
}

describe('SQL obfuscation for display', () => {
  it('hides values: strings, numbers, booleans, NULL, placeholders; keeps names and binds', () => {
    const cases: [string, string][] = [
      ["SELECT * FROM t WHERE name = 'x' AND id IN (1, 2, 3)", 'SELECT * FROM t WHERE name = ? AND id IN ( ? )'],
      ['select * from users where id=42', 'select * from users where id = ?'],
      ["SELECT a FROM t WHERE s = 'it''s' AND u = E'a\\'b' AND n = N'x' AND h = 0xFF AND b = X'0f'", 'SELECT a FROM t WHERE s = ? AND u = ? AND n = ? AND h = ? AND b = ?'],
      ['SELECT $$a $ b$$, $tag$ body $tag$ FROM t', 'SELECT ? FROM t'],
      ['UPDATE t SET a = -1.5e3, b = x - 2, c = TRUE, d = null WHERE e = $1 AND f = %s AND g = %(name)s AND h = ?', 'UPDATE t SET a = ?, b = x - ?, c = ?, d = ? WHERE e = ? AND f = ? AND g = ? AND h = ?'],
      ['SELECT * FROM t WHERE a = :name AND b = @var AND c::int > 3', 'SELECT * FROM t WHERE a = :name AND b = @var AND c :: int > ?'],
      ['SELECT "t"."a", `b`.c, t.*, café, 2fa_codes.id FROM t', 'SELECT "t"."a", `b`.c, t.*, café, 2fa_codes.id FROM t'],
      ['SELECT x FROM t WHERE a = 1e5 AND b = .5 AND c = 3.', 'SELECT x FROM t WHERE a = ? AND b = ? AND c = ?'],
      ['SELECT count(*) FROM t WHERE k = ANY(array[21, 25, 32]) LIMIT 10, 20;', 'SELECT count ( * ) FROM t WHERE k = ANY ( array [ ? ] ) LIMIT ?']
    ]
    for (const [sql, shown] of cases) assert.equal(obfuscateSqlForDisplay(sql), shown, sql)
  })

  it('strips comments and collapses rows; an unterminated string or comment hides the rest', () => {
    assert.equal(obfuscateSqlForDisplay('-- who\nSELECT /* all */ *\n  FROM   users -- trailing\n WHERE id = 7'), 'SELECT * FROM users WHERE id = ?')
    assert.equal(obfuscateSqlForDisplay("INSERT INTO t (a, b) VALUES (1, 'x'), (2, 'y'), (3, 'z') ON CONFLICT DO NOTHING"), 'INSERT INTO t ( a, b ) VALUES ( ? ) ON CONFLICT DO NOTHING')
    assert.equal(obfuscateSqlForDisplay("SELECT * FROM t WHERE a = 'open"), 'SELECT * FROM t WHERE a = ?')
    assert.equal(obfuscateSqlForDisplay('SELECT 1 /* open'), 'SELECT ?')
    assert.equal(obfuscateSqlForDisplay(''), '')
  })

  it('changes nothing in what it already obfuscated', () => {
    for (const sql of ["SELECT * FROM t WHERE a = 'x' AND b IN (1, 2)", "INSERT INTO t VALUES (1, 'a'), (2, 'b')", 'SELECT f(1, 2) FROM t LIMIT 5']) {
      const once = obfuscateSqlForDisplay(sql)
      assert.equal(obfuscateSqlForDisplay(once), once, sql)
    }
  })

  it('stops past its limit without changing what comes before it', () => {
    const bulk = `INSERT INTO t (a) VALUES ${Array.from({ length: 50_000 }, (_, i) => `(${i})`).join(', ')} RETURNING id`
    assert.equal(obfuscateSqlForDisplay(bulk, 100), 'INSERT INTO t ( a ) VALUES ( ? ) RETURNING id', 'rows that collapse do not count against the limit')
    const wide = `SELECT ${Array.from({ length: 5000 }, (_, i) => `c${i}`).join(', ')} FROM t`
    const full = obfuscateSqlForDisplay(wide)
    const limited = obfuscateSqlForDisplay(wide, 1000)
    assert.ok(limited.length >= 1000 && limited.length < full.length)
    assert.equal(full.slice(0, 1000), limited.slice(0, 1000))
  })

  it('cuts UTF-8 at a character boundary: the last byte that fits, and the first that does not', () => {
    assert.equal(cutUtf8('aé', 3), 'aé')
    assert.equal(cutUtf8('aé', 2), 'a')
    assert.equal(cutUtf8('a😀', 5), 'a😀')
    assert.equal(cutUtf8('a😀', 4), 'a')
  })
})

describe('the API shows SQL as the agent shows it', () => {
  const T0 = 1_700_000_000_000_000_000n
  const sql = (id: number, resource: string, extra: Record<string, string> = {}): ReturnType<typeof span> =>
    span({ trace_id: uint64(id), span_id: uint64(id * 10), service: 'db', name: 'pg.query', type: 'sql', resource, start: int64(T0 + BigInt(id)), meta: { 'span.kind': 'client', ...extra } })

  it('obfuscates SQL resources and sql.query in traces, details and the summary; keeps what was sent', async (t) => {
    const agent = await start(t)
    await sendTraces(agent, [[sql(1, "SELECT * FROM users WHERE id = 1 AND name = 'ann'", { 'sql.query': 'as the tracer wrote it' })], [sql(2, "SELECT * FROM users WHERE id = 2 AND name = 'bob'")], [span({ trace_id: uint64(3), resource: "GET /q?x='1'", start: int64(T0 + 3n) })]])
    const shown = 'SELECT * FROM users WHERE id = ? AND name = ?'

    const list = (await (await fetch(`${agent.url}/api/traces`)).json()) as { traces: { traceId: string; resource: string }[] }
    assert.deepEqual(list.traces.map((x) => x.resource), ["GET /q?x='1'", shown, shown], 'only SQL spans are obfuscated')

    const detail = (await (await fetch(`${agent.url}/api/traces/1`)).json()) as { trace: { spans: SpanView[] } }
    const [one] = detail.trace.spans
    assert.equal(one?.resource, shown)
    assert.equal(one?.resource_raw, "SELECT * FROM users WHERE id = 1 AND name = 'ann'")
    assert.equal(one?.meta['sql.query'], shown, 'the agent writes the obfuscated statement into sql.query')
    const web = (await (await fetch(`${agent.url}/api/traces/3`)).json()) as { trace: { spans: SpanView[] } }
    assert.equal(web.trace.spans[0]?.resource_raw, undefined, 'resource_raw is on SQL spans only')

    const summary = (await (await fetch(`${agent.url}/api/summary`)).json()) as { rows: { name: string; resource: string; requests: number }[] }
    assert.deepEqual(summary.rows.filter((r) => r.name === 'pg.query').map((r) => [r.resource, r.requests]), [[shown, 2]], 'two statements, one row')

    const filtered = async (resource: string): Promise<string[]> =>
      ((await (await fetch(`${agent.url}/api/traces?resource=${encodeURIComponent(resource)}`)).json()) as { traces: { traceId: string }[] }).traces.map((x) => x.traceId)
    assert.deepEqual(await filtered(shown), ['2', '1'], 'the filter takes what the page shows')
    assert.deepEqual(await filtered("SELECT * FROM users WHERE id = 2 AND name = 'bob'"), ['2'], 'and what was sent')

    const sent = agent.spans().filter((s) => s.type === 'sql')
    assert.deepEqual(sent.map((s) => s.resource), ["SELECT * FROM users WHERE id = 1 AND name = 'ann'", "SELECT * FROM users WHERE id = 2 AND name = 'bob'"], 'agent.traces() answers what was sent')
    assert.equal(sent[0]?.meta['sql.query'], 'as the tracer wrote it')
    assert.deepEqual(agent.violations(), [])
  })

  it('judges a long statement by its obfuscated length, as the agent truncates after obfuscating', async (t) => {
    const agent = await start(t)
    const bulk = `INSERT INTO t (a, b) VALUES ${Array.from({ length: 1000 }, (_, i) => `(${i}, 'v${i}')`).join(', ')}`
    // 900 names stay names: ~5,900 bytes once obfuscated, over the limit either way.
    const wide = `SELECT ${Array.from({ length: 900 }, (_, i) => `col${i}`).join(', ')} FROM t WHERE id = 1`
    await sendTraces(agent, [[sql(1, bulk)], [sql(2, wide)], [span({ trace_id: uint64(3), resource: 'r'.repeat(5001) })]])
    assert.deepEqual(agent.violations().map((v) => [v.traceId, v.rule]), [[2n, 'resource-too-long'], [3n, 'resource-too-long']])
    assert.match(agent.violations()[0]?.message ?? '', /once obfuscated/)
    const detail = (await (await fetch(`${agent.url}/api/traces/2`)).json()) as { trace: { spans: SpanView[] } }
    const shown = detail.trace.spans[0]
    assert.equal(Buffer.byteLength(shown?.resource ?? ''), 5000, 'the resource shown is cut at the limit')
    assert.ok(shown?.meta['sql.query']?.endsWith('col899 FROM t WHERE id = ?'), 'sql.query keeps up to 25,000 bytes')
  })
})
