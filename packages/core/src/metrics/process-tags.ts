import { readFileSync } from 'node:fs'
// dirname aliased: the usual ESM-bundle banner declares dirname at the top level of the bundle, and a
// bundler keeps the names of imports from node: modules.
import { basename, dirname as parentDir, extname, join } from 'node:path'

export interface ProcessTagSources {
  /** The entry script, `process.argv[1]`. */
  readonly entrypoint: string | undefined
  readonly cwd: string
  readonly service: string
  readonly serviceInferred: boolean
}

/** A process tag value as dd-trace writes it: lower case, runs of other characters than `[a-z0-9/_.-]` as one `_`. */
export function sanitizeProcessTagValue(value: string): string {
  return value.toLowerCase().replace(/[^a-zA-Z0-9/_.-]+/g, '_')
}

function packageName(cwd: string): string | undefined {
  try {
    const name = (JSON.parse(readFileSync(join(cwd, 'package.json'), 'utf8')) as { name?: unknown }).name
    return typeof name === 'string' && name !== '' ? name : undefined
  } catch {
    return undefined
  }
}

/**
 * dd-trace's process tags, on its runtime metrics only (on custom metrics they would multiply the
 * contexts a customer pays for), in its order: where the entry script lies, the working directory, the
 * package name, and whether the service name was given (`svc.user`) or guessed (`svc.auto`). dd-trace
 * reads the entry script from `require.main`, which an ES module entry does not set; `process.argv[1]`
 * names it in both module systems.
 */
export function processTags(sources: ProcessTagSources): string[] {
  const entry = sources.entrypoint ?? ''
  const pairs: Array<[string, string | undefined]> = [
    ['entrypoint.basedir', entry === '' ? undefined : basename(parentDir(entry))],
    ['entrypoint.name', basename(entry, extname(entry)) || undefined],
    ['entrypoint.type', 'script'],
    ['entrypoint.workdir', basename(sources.cwd) || undefined],
    ['package.json.name', packageName(sources.cwd)],
    sources.serviceInferred ? ['svc.auto', sources.service] : ['svc.user', 'true']
  ]
  const tags: string[] = []
  for (const [key, value] of pairs) if (value !== undefined) tags.push(`${key}:${sanitizeProcessTagValue(value)}`)
  return tags
}
