// Runs every test file under node:test with tsx as the TypeScript loader. Node 20's `--test` takes no
// globs, so the files are listed here; process.execPath keeps the Node that runs this script (CI runs the
// suite again under Node 24).
import { spawnSync } from 'node:child_process'
import { readdirSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const roots = [...readdirSync(join(root, 'packages')).map((p) => join(root, 'packages', p, 'test')), join(root, 'test')]
const filter = process.argv.slice(2)

function collect(dir, out) {
  let entries
  try {
    entries = readdirSync(dir)
  } catch {
    return out
  }
  for (const name of entries) {
    if (name === 'node_modules' || name === 'fixtures') continue
    const path = join(dir, name)
    if (statSync(path).isDirectory()) collect(path, out)
    else if (name.endsWith('.test.ts')) out.push(path)
  }
  return out
}

const files = roots
  .flatMap((dir) => collect(dir, []))
  .filter((f) => filter.length === 0 || filter.some((pattern) => f.includes(pattern)))
  .sort()
if (files.length === 0) {
  console.error('run-tests: no test files matched')
  process.exit(1)
}
console.log(`run-tests: ${files.length} files on Node ${process.version}`)
const result = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-concurrency=2', '--test-timeout=120000', ...files.map((f) => relative(root, f))],
  { cwd: root, stdio: 'inherit', env: { ...process.env, DD_TRACE_STARTUP_LOGS: 'false' } }
)
process.exit(result.status ?? 1)
