// The api's inventory database: PostgreSQL compiled to WebAssembly (PGlite), in this process, served on a
// loopback port by pglite-socket so that pg talks to it as to any PostgreSQL server.
//
// Creating a PGlite database runs initdb, several seconds of CPU (10 s on a busy 2-core machine); loading
// a snapshot of the seeded data directory takes a fraction of it. The first start writes the snapshot to
// the temporary directory, named after PGlite's version and the seed, and later starts load it.
import { createHash } from 'node:crypto'
import { readFileSync, renameSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { Blob } from 'node:buffer'
import { fileURLToPath } from 'node:url'
import { PGlite } from '@electric-sql/pglite'
import { PGLiteSocketServer } from '@electric-sql/pglite-socket'

// Seeded through PGlite itself, not pg: the seed is no request's work and leaves no trace.
const SEED = `
  CREATE TABLE inventory (product_id int PRIMARY KEY, stock int NOT NULL);
  INSERT INTO inventory SELECT id, (id * 7) % 11 FROM generate_series(1, 100) AS id;
`

/** PGlite's version, from the package.json above its entry point (the package exports no package.json). */
function pgliteVersion() {
  let dir = dirname(fileURLToPath(import.meta.resolve('@electric-sql/pglite')))
  for (;;) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'))
      if (pkg.name === '@electric-sql/pglite') return pkg.version
    } catch {
      // no package.json here
    }
    const parent = dirname(dir)
    if (parent === dir) return 'unknown'
    dir = parent
  }
}

function snapshotPath() {
  const version = pgliteVersion()
  const seed = createHash('sha256').update(SEED).digest('hex').slice(0, 12)
  return join(tmpdir(), `datadog-apm-demo-inventory-${version}-${seed}.tar`)
}

async function openDatabase() {
  const path = snapshotPath()
  let snapshot
  try {
    snapshot = new Blob([readFileSync(path)])
  } catch {
    snapshot = undefined
  }
  if (snapshot !== undefined) {
    try {
      return await PGlite.create({ loadDataDir: snapshot })
    } catch {
      // A damaged snapshot: made again below.
    }
  }
  const db = await PGlite.create()
  await db.exec(SEED)
  try {
    const dump = await db.dumpDataDir('none')
    const partial = `${path}.${process.pid}`
    writeFileSync(partial, Buffer.from(await dump.arrayBuffer()))
    renameSync(partial, path)
  } catch {
    // No snapshot: the next start runs initdb again.
  }
  return db
}

/** Starts the database on a free loopback port: its connection string, and `close()`. */
export async function startInventoryDatabase() {
  const db = await openDatabase()
  const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port: 0, maxConnections: 4 })
  await server.start()
  return {
    connectionString: `postgres://postgres@${server.getServerConn()}/postgres`,
    async close() {
      await server.stop()
      await db.close()
    }
  }
}
