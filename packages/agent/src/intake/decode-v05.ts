import type { MsgpackNode } from './msgpack-decoder.js'

// The v0.5 payload, as the agent decodes it: `[strings, traces]`, a span a fixed array of 12 whose strings are
// uint32 indexes into `strings`. The agent (decoder_v05.go) answers 400 for any other shape; here the
// payload is rewritten into the v0.4 tree (spans as maps keyed by field name) so that every v0.4 check
// of validateRequest applies to it unchanged.

/** The v0.5 span fields in array order. */
export const V05_FIELDS = ['service', 'name', 'resource', 'trace_id', 'span_id', 'parent_id', 'start', 'duration', 'error', 'meta', 'metrics', 'type'] as const
const STRING_FIELDS = new Set([0, 1, 2, 11])
const META = 9
const METRICS = 10

export type V05Result = { root: MsgpackNode; error?: undefined } | { root?: undefined; error: string }

function fieldName(name: string): MsgpackNode {
  return { kind: 'str', format: name.length < 32 ? 'fixstr' : 'str8', value: name, validUtf8: true }
}

class V05Error extends Error {}

/** Turns a decoded v0.5 body into the equivalent v0.4 tree, or says why the agent would refuse it. */
export function v05ToV04Tree(root: MsgpackNode): V05Result {
  try {
    return { root: convert(root) }
  } catch (err) {
    if (err instanceof V05Error) return { error: err.message }
    throw err
  }
}

function convert(root: MsgpackNode): MsgpackNode {
  if (root.kind !== 'array' || root.items.length !== 2) {
    throw new V05Error(`v0.5 payload must be an array of 2 ([strings, traces]), got ${describe(root)}`)
  }
  const [stringsNode, tracesNode] = root.items as [MsgpackNode, MsgpackNode]
  if (stringsNode.kind !== 'array') throw new V05Error(`v0.5 string table must be an array, got ${describe(stringsNode)}`)
  const strings: MsgpackNode[] = stringsNode.items.map((item, i) => {
    if (item.kind === 'str') return item
    if (item.kind === 'bin') return { kind: 'str', format: 'str32', value: Buffer.from(item.value).toString('utf8'), validUtf8: true }
    throw new V05Error(`v0.5 string table entry ${i} is ${describe(item)}, expected str`)
  })
  const ref = (node: MsgpackNode, what: string): MsgpackNode => {
    if (node.kind !== 'uint') throw new V05Error(`${what} is ${describe(node)}, expected a uint32 string index`)
    const index = Number(node.value)
    if (index > 0xffff_ffff) throw new V05Error(`${what} index ${index} does not fit uint32`)
    const s = strings[index]
    if (s === undefined) throw new V05Error(`${what} index ${index} is out of range (the table has ${strings.length} strings)`)
    return s
  }
  if (tracesNode.kind !== 'array') throw new V05Error(`v0.5 traces must be an array, got ${describe(tracesNode)}`)
  const traces: MsgpackNode[] = tracesNode.items.map((trace, t) => {
    if (trace.kind !== 'array') throw new V05Error(`v0.5 trace ${t} is ${describe(trace)}, expected an array of spans`)
    const spans: MsgpackNode[] = trace.items.map((span, s) => {
      if (span.kind !== 'array' || span.items.length !== 12) {
        throw new V05Error(`v0.5 span ${s} of trace ${t} must be an array of exactly 12, got ${span.kind === 'array' ? `an array of ${span.items.length}` : describe(span)}`)
      }
      const keys: MsgpackNode[] = []
      const values: MsgpackNode[] = []
      span.items.forEach((value, f) => {
        const name = V05_FIELDS[f]
        keys.push(fieldName(name))
        if (STRING_FIELDS.has(f)) values.push(ref(value, name))
        else if (f === META || f === METRICS) values.push(map(value, name, f === META, ref))
        else values.push(value)
      })
      return { kind: 'map', format: 'fixmap', keys, values }
    })
    return { kind: 'array', format: trace.format, items: spans }
  })
  return { kind: 'array', format: tracesNode.format, items: traces }
}

function map(node: MsgpackNode, field: string, valuesAreStrings: boolean, ref: (node: MsgpackNode, what: string) => MsgpackNode): MsgpackNode {
  if (node.kind === 'nil') return { kind: 'map', format: 'fixmap', keys: [], values: [] }
  if (node.kind !== 'map') throw new V05Error(`${field} is ${describe(node)}, expected a map`)
  return {
    kind: 'map',
    format: node.format,
    keys: node.keys.map((k) => ref(k, `${field} key`)),
    values: valuesAreStrings ? node.values.map((v) => ref(v, `${field} value`)) : node.values
  }
}

function describe(node: MsgpackNode): string {
  return node.kind === 'nil' ? 'nil' : `${node.kind} (${node.format})`
}
