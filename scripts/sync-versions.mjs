// After `changeset version`: the versions the code sends (core's Datadog-Meta-Tracer-Version, the local
// intake's /info) follow the packages' new versions. They are constants, not read from package.json at
// run time, because a bundle has no package.json of ours to read.
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const targets = [
  { pkg: 'packages/core', file: 'packages/core/src/base/version.ts', constant: 'TRACER_VERSION' },
  { pkg: 'packages/agent', file: 'packages/agent/src/agent.ts', constant: 'AGENT_VERSION' }
]

for (const { pkg, file, constant } of targets) {
  const { version } = JSON.parse(readFileSync(join(root, pkg, 'package.json'), 'utf8'))
  const path = join(root, file)
  const before = readFileSync(path, 'utf8')
  const pattern = new RegExp(`(export const ${constant} = )'[^']*'`)
  if (!pattern.test(before)) throw new Error(`sync-versions: no ${constant} = '...' in ${file}`)
  const after = before.replace(pattern, `$1'${version}'`)
  if (after !== before) writeFileSync(path, after)
  console.log(`sync-versions: ${constant} = '${version}' (${file})`)
}
