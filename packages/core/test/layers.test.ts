import assert from 'node:assert/strict'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, relative, resolve, sep } from 'node:path'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import ts from 'typescript'

// Core is laid out as one folder per layer. A file may import files of its own folder and of the folders
// below it, never above: the order is the design, and an import against it is how cycles start. Type
// imports count too: they tie the modules together just the same for whoever reads or moves them.
//
// Top to bottom:
// - index.ts and testing.ts: the public surface;
// - server: the request-span helpers of the framework packages, built on a tracer;
// - tracer: makes spans, owns the exporter, the sampler and the propagator;
// - lifecycle: the exit hooks the tracer registers with;
// - integrations: client spans, driven by the tracer;
// - metrics: runtime and custom metrics over DogStatsD. Above export, not beside the other senders below
//   it: metrics report the exporter's counters, and tag lines with the container id the exporter reads
//   for its headers, so they depend on export and export knows nothing of them. The DogStatsD lines
//   go through the agent client (and UDP), histograms summarize with stats' DDSketch;
// - export: the exporter, which feeds stats and sends what wire encodes through agent-client;
// - stats, wire, agent-client: what the exporter is made of;
// - config: options and the environment resolved once; it uses the pure parsers of the folders below;
// - propagation, sampling: header formats and sampling decisions over the model;
// - model: spans, traces, ids, the async context;
// - base: diagnostics and the version, used by everything.
const LAYERS = ['(entry)', 'server', 'tracer', 'lifecycle', 'integrations', 'metrics', 'export', 'stats', 'wire', 'agent-client', 'config', 'propagation', 'sampling', 'model', 'base']

const src = fileURLToPath(new URL('../src/', import.meta.url))

function sourceFiles(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) sourceFiles(path, out)
    else if (name.endsWith('.ts')) out.push(path)
  }
  return out
}

/** `tracer/tracer.ts`, with forward slashes on every platform. */
function name(path: string): string {
  return relative(src, path).split(sep).join('/')
}

function layerOf(file: string): string {
  const slash = file.indexOf('/')
  return slash === -1 ? '(entry)' : file.slice(0, slash)
}

/** Every relative import of every file (`import`, `import type`, `export ... from`, `import()`), by file name. */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>()
  for (const path of sourceFiles(src)) {
    const imports: string[] = []
    for (const { fileName } of ts.preProcessFile(readFileSync(path, 'utf8'), true, true).importedFiles) {
      if (!fileName.startsWith('.')) continue
      imports.push(name(resolve(dirname(path), fileName.replace(/\.js$/, '.ts'))))
    }
    graph.set(name(path), [...new Set(imports)].sort())
  }
  return graph
}

/** The strongly connected components with more than one file (or a file importing itself): Tarjan's algorithm. */
function cycles(graph: Map<string, string[]>): string[][] {
  const index = new Map<string, number>()
  const low = new Map<string, number>()
  const stack: string[] = []
  const onStack = new Set<string>()
  const found: string[][] = []
  let next = 0
  const visit = (file: string): void => {
    index.set(file, next)
    low.set(file, next)
    next++
    stack.push(file)
    onStack.add(file)
    for (const target of graph.get(file) ?? []) {
      if (!index.has(target)) {
        visit(target)
        low.set(file, Math.min(low.get(file)!, low.get(target)!))
      } else if (onStack.has(target)) {
        low.set(file, Math.min(low.get(file)!, index.get(target)!))
      }
    }
    if (low.get(file) !== index.get(file)) return
    const component: string[] = []
    let member: string
    do {
      member = stack.pop()!
      onStack.delete(member)
      component.push(member)
    } while (member !== file)
    if (component.length > 1 || (graph.get(file) ?? []).includes(file)) found.push(component)
  }
  for (const file of [...graph.keys()].sort()) if (!index.has(file)) visit(file)
  return found
}

/**
 * One cycle through `component`, as `a.ts -> b.ts -> a.ts` (the shortest way back to its first file),
 * followed by the other files of the knot when there are more.
 */
function describeCycle(graph: Map<string, string[]>, component: string[]): string {
  const members = new Set(component)
  const start = [...members].sort()[0]
  const previous = new Map<string, string>()
  const queue = [start]
  while (queue.length > 0) {
    const file = queue.shift()!
    for (const target of graph.get(file) ?? []) {
      if (!members.has(target)) continue
      if (target === start) {
        const path = [file]
        while (path[0] !== start) path.unshift(previous.get(path[0])!)
        const rest = [...members].filter((m) => !path.includes(m)).sort()
        return [...path, start].join(' -> ') + (rest.length === 0 ? '' : ` (the same knot holds ${rest.join(', ')})`)
      }
      if (!previous.has(target)) {
        previous.set(target, file)
        queue.push(target)
      }
    }
  }
  return component.join(', ')
}

const graph = importGraph()

test('every file of core sits in a known layer, and every relative import names a file', () => {
  const problems: string[] = []
  for (const [file, imports] of graph) {
    if (!LAYERS.includes(layerOf(file))) problems.push(`${file}: folder ${layerOf(file)} is not in the layer order`)
    for (const target of imports) if (!graph.has(target)) problems.push(`${file} imports ${target}, which is not a source file`)
  }
  assert.deepEqual(problems, [])
})

test('core has no import cycles', () => {
  const found = cycles(graph).map((component) => describeCycle(graph, component))
  assert.deepEqual(found, [], `import cycles:\n  ${found.join('\n  ')}`)
})

test('imports point down the layer order (or stay in their folder)', () => {
  const rank = (file: string): number => LAYERS.indexOf(layerOf(file))
  const upward: string[] = []
  for (const [file, imports] of graph) {
    for (const target of imports) {
      if (rank(target) < rank(file)) upward.push(`${file} (${layerOf(file)}) imports ${target} (${layerOf(target)})`)
    }
  }
  assert.deepEqual(upward, [], `imports against the layer order ${LAYERS.join(' > ')}:\n  ${upward.join('\n  ')}`)
})

/** The lines of a file (`text`, read from `path` unless given) with a node `matches`: code only, so comments and strings do not count. */
function linesWhere(path: string, matches: (node: ts.Node) => boolean, text = readFileSync(path, 'utf8')): number[] {
  const source = ts.createSourceFile(path, text, ts.ScriptTarget.Latest, true)
  const lines: number[] = []
  const visit = (node: ts.Node): void => {
    if (matches(node)) lines.push(source.getLineAndCharacterOfPosition(node.getStart()).line + 1)
    ts.forEachChild(node, visit)
  }
  visit(source)
  return lines
}

/** `file:line` of every match of `find` in core's files outside `layer`. */
function foundOutside(layer: string, find: (path: string) => number[]): string[] {
  const found: string[] = []
  for (const path of sourceFiles(src)) {
    if (layerOf(name(path)) === layer) continue
    for (const line of find(path)) found.push(`${name(path)}:${line}`)
  }
  return found
}

/** Where a file reads `process.env` (a property access). */
function envReads(path: string): number[] {
  return linesWhere(
    path,
    (node) => ts.isPropertyAccessExpression(node) && node.name.text === 'env' && ts.isIdentifier(node.expression) && node.expression.text === 'process'
  )
}

test('config/ is the only reader of process.env: settings are resolved in one place', () => {
  assert.deepEqual(foundOutside('config', envReads), [])
})

/** Where a file tests `instanceof AgentExporter` (a binary expression). */
function agentExporterChecks(path: string, text?: string): number[] {
  return linesWhere(
    path,
    (node) =>
      ts.isBinaryExpression(node) &&
      node.operatorToken.kind === ts.SyntaxKind.InstanceOfKeyword &&
      ts.isIdentifier(node.right) &&
      node.right.text === 'AgentExporter',
    text
  )
}

// The tracer, the metrics and everything else above export reach the exporter through the Exporter
// interface only: what the agent exporter offers them (its agent client, the /info probe) is an optional
// member of it, so any exporter may offer it too, and nothing depends on which class it is.
test('outside export/, nothing asks whether the exporter is the agent exporter', () => {
  assert.deepEqual(foundOutside('export', agentExporterChecks), [])
})

// Small files that each do one thing: past 400 lines a file has usually become two. The SQL tokenizer
// is one state machine, kept whole.
const MAX_LINES = 400
const LONG_FILES_ALLOWED = ['wire/obfuscate-sql.ts']

function lineCount(path: string): number {
  const text = readFileSync(path, 'utf8')
  return text.split('\n').length - (text.endsWith('\n') ? 1 : 0)
}

test(`every file of core has at most ${MAX_LINES} lines (${LONG_FILES_ALLOWED.join(', ')} excepted)`, () => {
  const long: string[] = []
  for (const path of sourceFiles(src)) {
    if (LONG_FILES_ALLOWED.includes(name(path))) continue
    const lines = lineCount(path)
    if (lines > MAX_LINES) long.push(`${name(path)}: ${lines} lines`)
  }
  assert.deepEqual(long, [])
})

test('the checks find what they look for', () => {
  const sample = new Map([
    ['a/x.ts', ['b/y.ts']],
    ['b/y.ts', ['b/z.ts']],
    ['b/z.ts', ['a/x.ts', 'c/v.ts']],
    ['c/v.ts', ['b/z.ts']],
    ['c/w.ts', ['c/w.ts']]
  ])
  assert.deepEqual(
    cycles(sample).map((c) => describeCycle(sample, c)),
    ['a/x.ts -> b/y.ts -> b/z.ts -> a/x.ts (the same knot holds c/v.ts)', 'c/w.ts -> c/w.ts']
  )
  const imports = ts.preProcessFile("import type { A } from './a.js'\nexport { b } from '../b/b.js'\nimport {\n  c\n} from './c.js'\nconst d = await import('./d.js')\n", true, true)
  assert.deepEqual(imports.importedFiles.map((f) => f.fileName), ['./a.js', '../b/b.js', './c.js', './d.js'])
  assert.ok(envReads(fileURLToPath(new URL('../src/config/config.ts', import.meta.url))).length > 0)
  assert.deepEqual(agentExporterChecks('x.ts', '// e instanceof AgentExporter\nconst s = "e instanceof AgentExporter"\nif (e instanceof AgentExporter) f()\n'), [3])
  assert.ok(lineCount(fileURLToPath(new URL('../src/wire/obfuscate-sql.ts', import.meta.url))) > MAX_LINES)
})
