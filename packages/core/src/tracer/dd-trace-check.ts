import { readFileSync } from 'node:fs'
// Aliased: the usual ESM-bundle banner declares createRequire at the top level of the bundle, and a
// bundler keeps the names of imports from node: modules, so a plain `createRequire` would collide with it.
import { createRequire as requireFor } from 'node:module'
import { join, sep } from 'node:path'

/**
 * What dd-trace leaves in the process, measured on dd-trace 5 and 6 (the same bootstrap in both): loading
 * it sets `global._ddtrace` to its tracer proxy, whose `_initialized` turns true on `init()` (a
 * `--require dd-trace/init` or `--import dd-trace/initialize.mjs` preload, or a call in the code). With
 * `DD_TRACE_ENABLED=false` the global is a no-op proxy without that field. Merely loaded, dd-trace traces
 * nothing; initialized, it patches http and the frameworks on its own, so each request becomes a trace of
 * dd-trace's beside ours and outgoing calls carry two sets of trace headers.
 */
interface DdTraceProxy {
  readonly _initialized?: unknown
}

export interface DdTraceFound {
  /** dd-trace's version, when its package.json could be found from the modules loaded. */
  readonly version: string | undefined
  /** How it was started, when the command line says (`--require dd-trace/init`). */
  readonly preload: string | undefined
}

/** dd-trace's package directory, from the CommonJS module cache: the loaded copy, wherever it lives. */
function loadedPackageDir(): string | undefined {
  try {
    // dd-trace's own sources sit under <package>/packages/dd-trace/src/.
    const marker = `${sep}packages${sep}dd-trace${sep}src${sep}`
    for (const file of Object.keys(requireFor(import.meta.url).cache)) {
      const at = file.indexOf(marker)
      if (at !== -1) return file.slice(0, at)
    }
  } catch {
    // A runtime without a CommonJS cache (a bundle) only loses the version in the message.
  }
  return undefined
}

function versionOf(dir: string | undefined): string | undefined {
  if (dir === undefined) return undefined
  try {
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: unknown; version?: unknown }
    return pkg.name === 'dd-trace' && typeof pkg.version === 'string' ? pkg.version : undefined
  } catch {
    return undefined
  }
}

function preloadOf(execArgv: readonly string[]): string | undefined {
  for (let i = 0; i < execArgv.length; i++) {
    const arg = execArgv[i]
    const flag = /^(-r|--require|--import|--loader|--experimental-loader)(?:=(.*))?$/.exec(arg)
    if (flag === null) continue
    const value = flag[2] ?? execArgv[i + 1]
    if (value !== undefined && value.includes('dd-trace')) return `${flag[1]} ${value}`
  }
  return undefined
}

/** dd-trace, when it is initialized in this process; undefined when it is absent, only loaded, or disabled. */
export function findInitializedDdTrace(): DdTraceFound | undefined {
  const proxy = (globalThis as { _ddtrace?: DdTraceProxy })._ddtrace
  if (proxy === null || typeof proxy !== 'object' || proxy._initialized !== true) return undefined
  return { version: versionOf(loadedPackageDir()), preload: preloadOf(process.execArgv) }
}

/** The warning: what happens, and what to remove. */
export function ddTraceMessage(found: DdTraceFound): string {
  const which = found.version === undefined ? 'dd-trace' : `dd-trace ${found.version}`
  const how =
    found.preload !== undefined
      ? `remove ${found.preload} from the command line (or NODE_OPTIONS)`
      : "remove the dd-trace preload (--require dd-trace/init or --import dd-trace/initialize.mjs, often in NODE_OPTIONS) or the require('dd-trace').init() / import 'dd-trace/init' in the code"
  return (
    `${which} is initialized in this process too: every request is traced twice (by dd-trace and by datadog-apm) ` +
    `and outgoing calls carry both tracers' headers. To keep datadog-apm, ${how}, and the dd-trace dependency`
  )
}
