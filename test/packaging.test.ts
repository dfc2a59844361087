// The packages as they would be published: packed with pnpm (which rewrites workspace: ranges), installed
// with npm into one scratch project outside the workspace, and run against the local intake as an ESM app,
// a CommonJS app (require of the ESM packages), TypeScript compiled to CommonJS (`module: node16`) and
// TypeScript for a bundler, bundled with esbuild. One pack and one install serve every scenario.
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { after, before, describe, test } from 'node:test'
import { build } from 'esbuild'
import { startAgent, type Agent, type ReceivedSpan, type ReceivedTrace } from '@datadog-apm/agent'
import { startFixture, type FixtureProcess } from './support/fixture-process.js'

const root = fileURLToPath(new URL('..', import.meta.url))
const fixtures = join(root, 'test', 'fixtures', 'packaging')
const PACKAGES = ['core', 'express', 'fastify', 'logger', 'opentelemetry', 'agent'] as const
const APP_NAME = 'datadog-apm-packaging-app'
const APP_VERSION = '1.2.3'

interface Packed {
  readonly name: string
  readonly filename: string
  readonly files: readonly { readonly path: string }[]
}

interface Line {
  port?: number
  message?: string
  oneTracer?: boolean
  loaded?: boolean
  dd?: { span_id?: string }
}

/**
 * Runs a command to its end; rejects with its output when it fails. The environment loses the `npm_*`
 * and `pnpm_*` variables a package manager's `run` sets, `npm_config_local_prefix` among them, which would
 * point npm at the workspace instead of the scratch project.
 */
function run(file: string, args: readonly string[], cwd: string, timeoutMs: number): Promise<string> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^(npm|pnpm)_/i.test(key)))
  return new Promise((resolve, reject) => {
    execFile(file, args, { cwd, env, timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${file} ${args.join(' ')} failed in ${cwd}:\n${stdout}\n${stderr}`, { cause: error }))
      else resolve(stdout)
    })
  })
}

/** The version of `name` the workspace's tests run with, so the scratch project tests the same one. */
function workspaceVersion(from: string, name: string): string {
  const pkg = createRequire(join(root, from, 'package.json'))(`${name}/package.json`) as { version: string }
  return pkg.version
}

/** Every file under `dir`, relative to it, with forward slashes. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => relative(dir, join(entry.parentPath, entry.name)).split('\\').join('/'))
}

describe('the packed packages, installed with npm outside the workspace', () => {
  let scratch: string
  let app: string
  let packed: Packed[]
  let agent: Agent
  /** The two tsc runs, started together once the install is done (each takes seconds); awaited by their tests. */
  let compiled: { node16: Promise<string>; bundler: Promise<string> }

  before(async () => {
    scratch = mkdtempSync(join(tmpdir(), 'dd-packaging-'))
    app = join(scratch, 'app')
    const tarballs = join(scratch, 'tarballs')
    const [packOutput, intake] = await Promise.all([
      run('npx', ['-y', 'pnpm@12.4.2', '-r', '--filter', './packages/*', 'pack', '--pack-destination', tarballs, '--json'], root, 60_000),
      startAgent()
    ])
    agent = intake
    packed = JSON.parse(packOutput) as Packed[]
    cpSync(fixtures, app, { recursive: true })
    const dependencies: Record<string, string> = {
      express: workspaceVersion('packages/express', 'express'),
      '@types/express': workspaceVersion('packages/express', '@types/express'),
      fastify: workspaceVersion('packages/fastify', 'fastify'),
      '@types/node': workspaceVersion('.', '@types/node')
    }
    for (const p of packed) dependencies[p.name] = `file:${p.filename}`
    // No "type": the project is CommonJS, as most TypeScript apps that compile to require() are.
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: APP_NAME, version: APP_VERSION, private: true, dependencies }, null, 2))
    // From npm's cache when it holds them; the registry only for what it lacks.
    await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error'], app, 100_000)
    const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc')
    compiled = {
      node16: run(process.execPath, [tsc, '-p', join(app, 'ts-node16')], app, 60_000),
      bundler: run(process.execPath, [tsc, '-p', join(app, 'ts-bundler')], app, 60_000)
    }
    for (const done of Object.values(compiled)) done.catch(() => {})
  })

  after(async () => {
    // A test that failed early leaves a tsc running: it ends (or times out) before its files go.
    if (compiled !== undefined) await Promise.allSettled(Object.values(compiled))
    await agent?.close()
    if (scratch !== undefined) rmSync(scratch, { recursive: true, force: true })
  })

  /**
   * Starts `args` in `cwd`, asks for `path`, and returns the trace of that request and the app's lines
   * (once `lineWanted` matches one of them, when given).
   */
  async function traceOf(args: readonly string[], cwd: string, env: Record<string, string>, path: string, resource: string, lineWanted?: (line: Line) => boolean): Promise<{ spans: ReceivedSpan[]; lines: Line[]; first: Line }> {
    let fixture: FixtureProcess<Line> | undefined
    try {
      fixture = await startFixture<Line>(args, cwd, {
        DD_TRACE_AGENT_URL: agent.url,
        DD_TRACE_FLUSH_INTERVAL: '0',
        DD_TRACE_STARTUP_LOGS: 'false',
        NODE_OPTIONS: '',
        ...env
      })
      const res = await fetch(fixture.base + path)
      await res.arrayBuffer()
      assert.equal(res.status, 200, `GET ${path}\n${fixture.stderr()}`)
      const isOurs = (t: ReceivedTrace): boolean => t.spans.some((s) => s.resource === resource)
      const [trace] = await agent.waitForTraces(1, { filter: isOurs, timeoutMs: 5000 })
      assert.ok(trace)
      if (lineWanted !== undefined) {
        const app = fixture
        await app.linesUntil(() => app.lines.some(lineWanted), 'the line the test waits for')
      }
      return { spans: trace.spans, lines: fixture.lines, first: fixture.lines.find((l) => l.port !== undefined) ?? {} }
    } finally {
      await fixture?.stop()
    }
  }

  function rootOf(spans: readonly ReceivedSpan[]): ReceivedSpan {
    const found = spans.find((s) => s.parent_id === 0n)
    assert.ok(found, 'the trace has a root span')
    return found
  }

  test('each tarball holds the built code, its types, README and LICENSE, and nothing else', () => {
    assert.deepEqual(packed.map((p) => p.name).sort(), PACKAGES.map((p) => `@datadog-apm/${p}`).sort())
    for (const p of packed) {
      const paths = p.files.map((f) => f.path)
      for (const needed of ['LICENSE', 'README.md', 'package.json', 'dist/index.js', 'dist/index.d.ts', 'dist/index.d.cts']) {
        assert.ok(paths.includes(needed), `${p.name} ships ${needed}`)
      }
      const extra = paths.filter((path) => !['LICENSE', 'README.md', 'package.json'].includes(path) && !/^dist\/.+\.(js|js\.map|d\.ts|d\.cts)$/.test(path))
      assert.deepEqual(extra, [], `${p.name} ships only dist code, maps and types`)
      assert.deepEqual(paths.filter((path) => /\.d\.ts\.map$|\.tsbuildinfo$|(^|\/)(src|test)\//.test(path)), [], p.name)

      const installed = join(app, 'node_modules', p.name)
      assert.deepEqual(filesUnder(installed).sort(), [...paths].sort(), `${p.name}: npm installed what was packed`)
      const manifest = readFileSync(join(installed, 'package.json'), 'utf8')
      assert.doesNotMatch(manifest, /workspace:/, `${p.name}: pnpm pack rewrote workspace: ranges`)
      const pkg = JSON.parse(manifest) as { license: string; repository: { directory: string }; publishConfig: { access: string }; engines: { node: string } }
      assert.equal(pkg.license, 'Apache-2.0')
      assert.equal(pkg.repository.directory, `packages/${p.name.slice('@datadog-apm/'.length)}`)
      assert.equal(pkg.publishConfig.access, 'public')
      assert.equal(pkg.engines.node, '^20.19.0 || >=22.12.0')
      assert.match(readFileSync(join(installed, 'LICENSE'), 'utf8'), /Apache License\s+Version 2\.0/)
      // The sources are not shipped, so each map carries them: a stack trace or a debugger shows the TypeScript.
      for (const path of paths.filter((f) => f.endsWith('.js.map'))) {
        const map = JSON.parse(readFileSync(join(installed, path), 'utf8')) as { sources: string[]; sourcesContent?: (string | null)[] }
        assert.equal(map.sourcesContent?.filter((s) => typeof s === 'string').length, map.sources.length, `${p.name}/${path} carries its sources`)
      }
    }
  })

  test('the packed agent CLI starts from its bin', async () => {
    const help = await run(process.execPath, [join(app, 'node_modules', '.bin', 'datadog-apm-agent'), '--help'], app, 10_000)
    assert.match(help, /^Usage: datadog-apm-agent/)
  })

  test('ESM: an Express app imports the packages', async () => {
    const { spans, lines } = await traceOf([join(app, 'app.mjs')], app, { DD_SERVICE: 'packaged-esm' }, '/esm/ada', 'GET /esm/:name', (l) => l.message === 'greeting')
    const top = rootOf(spans)
    assert.equal(top.name, 'express.request')
    assert.deepEqual(spans.map((s) => s.service), ['packaged-esm', 'packaged-esm'])
    const child = spans.find((s) => s.name === 'greeting.build')
    assert.ok(child)
    assert.equal(lines.find((l) => l.message === 'greeting')?.dd?.span_id, child.span_id.toString(), 'the log line carries its span')
  })

  test('CommonJS: a Fastify app require()s the ESM packages, one module and one tracer', async () => {
    const { spans, first } = await traceOf([join(app, 'app.cjs')], app, { DD_SERVICE: 'packaged-cjs' }, '/cjs/7', 'GET /cjs/:id')
    assert.equal(rootOf(spans).name, 'fastify.request')
    assert.deepEqual(spans.map((s) => s.service), ['packaged-cjs', 'packaged-cjs'])
    assert.equal(first.oneTracer, true, 'require() and import() give the same core, hence one default tracer')
  })

  test('TypeScript, module node16 (CommonJS): tsc checks every package with skipLibCheck off, the output runs', async () => {
    await compiled.node16
    // No DD_SERVICE: service and version come from the package.json of the directory it runs in.
    const { spans, first } = await traceOf([join(app, 'ts-node16', 'out', 'app.js')], app, { DD_SERVICE: '', DD_VERSION: '' }, '/ts-node16/grace', 'GET /ts-node16/:name')
    assert.equal(first.loaded, true, 'every package loaded through require()')
    const top = rootOf(spans)
    assert.equal(top.service, APP_NAME)
    assert.equal(top.meta.version, APP_VERSION)
    assert.equal(top.meta.scenario, 'ts-node16')
  })

  test('TypeScript, moduleResolution bundler: tsc checks it, esbuild bundles it, the bundle runs on its own', async () => {
    await compiled.bundler
    const out = join(scratch, 'bundle')
    mkdirSync(out)
    // The README's recipe: the bundle's banner names the service after package.json, read at build time,
    // unless the environment that runs it sets DD_SERVICE.
    const { name, version } = JSON.parse(readFileSync(join(app, 'package.json'), 'utf8')) as { name: string; version: string }
    const result = await build({
      entryPoints: [join(app, 'ts-bundler', 'app.ts')],
      outfile: join(out, 'app.mjs'),
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      metafile: true,
      logLevel: 'silent',
      banner: {
        js: [
          // The banner ESM bundles usually carry, so that a name of ours that collides with it fails here.
          "import { createRequire } from 'node:module'; import { fileURLToPath } from 'node:url'; import { dirname } from 'node:path';",
          'const require = createRequire(import.meta.url); const __filename = fileURLToPath(import.meta.url); const __dirname = dirname(__filename);',
          `process.env.DD_SERVICE ||= ${JSON.stringify(name)}; process.env.DD_VERSION ||= ${JSON.stringify(version)};`
        ].join('\n')
      }
    })
    const inputs = Object.keys(result.metafile.inputs)
    assert.ok(inputs.some((p) => p.includes('node_modules/@datadog-apm/core/dist/')), 'core from the tarball is in the bundle')
    assert.ok(inputs.some((p) => p.includes('node_modules/fastify/')), 'Fastify is in the bundle')
    // Run from a directory with no package.json and no node_modules above it: all of it is in the bundle.
    const { spans } = await traceOf([join(out, 'app.mjs')], out, { DD_SERVICE: '', DD_VERSION: '' }, '/bundle/9', 'GET /bundle/:id')
    const top = rootOf(spans)
    assert.equal(top.name, 'fastify.request')
    assert.deepEqual(new Set(spans.map((s) => s.service)), new Set([APP_NAME]))
    assert.equal(top.meta.version, APP_VERSION)
    assert.equal(top.meta.scenario, 'bundle')
  })
})
