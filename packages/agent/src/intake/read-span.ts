import { Buffer } from 'node:buffer'
import { toPlain, type MsgpackNode } from './msgpack-decoder.js'
import { Rule, type RuleId } from './rules.js'
import { setOwn } from './set-own.js'
import type { ReceivedSpan } from './types.js'

// Turns one span map into a ReceivedSpan the way the agent's lenient decoder (decoder_bytes.go) would, and
// notes every departure from what a strict client sends. "Lenient" departures are ones the agent silently
// repairs; "rejected" ones make the real agent answer 400 for the whole payload.

export interface SpanIssue {
  rule: RuleId
  message: string
}

const REJECTED = 'the Datadog Agent rejects the whole payload'

function describe(node: MsgpackNode): string {
  return node.kind === 'nil' ? 'nil' : `${node.kind} (${node.format})`
}

class SpanReader {
  readonly issues: SpanIssue[] = []

  issue(rule: RuleId, message: string): void {
    this.issues.push({ rule, message })
  }

  string(field: string, node: MsgpackNode, rule: RuleId = Rule.spanFieldType): string {
    switch (node.kind) {
      case 'str':
        if (!node.validUtf8) this.issue(Rule.invalidUtf8, `${field} is not valid UTF-8; the agent repairs it with U+FFFD`)
        return node.value
      case 'bin':
        this.issue(rule, `${field} sent as ${describe(node)}; the agent accepts bin, but a str format is expected`)
        return Buffer.from(node.value).toString('utf8')
      case 'nil':
        this.issue(rule, `${field} sent as nil; the agent reads it as "", a strict client omits or sends a str`)
        return ''
      default:
        this.issue(rule, `${field} sent as ${describe(node)}, expected str; ${REJECTED}`)
        return node.kind === 'array' || node.kind === 'map' ? '' : String(node.value)
    }
  }

  uint64(field: string, node: MsgpackNode): bigint {
    switch (node.kind) {
      case 'uint':
        return BigInt(node.value)
      case 'int':
        // The agent casts a signed value to uint64, so -1 arrives as 2^64-1.
        this.issue(Rule.spanFieldType, `${field} sent as ${describe(node)}; the agent casts signed to uint64, a uint format is expected`)
        return BigInt.asUintN(64, BigInt(node.value))
      case 'nil':
        this.issue(Rule.spanFieldType, `${field} sent as nil; the agent reads it as 0, a uint format is expected`)
        return 0n
      default:
        this.issue(Rule.spanFieldType, `${field} sent as ${describe(node)}, expected uint64; ${REJECTED}`)
        return 0n
    }
  }

  int64(field: string, node: MsgpackNode): bigint {
    switch (node.kind) {
      case 'int':
        return BigInt(node.value)
      case 'uint': {
        const value = BigInt(node.value)
        if (value > 0x7fff_ffff_ffff_ffffn) {
          this.issue(Rule.spanFieldType, `${field} = ${value} does not fit int64; ${REJECTED}`)
        }
        return value
      }
      case 'nil':
        this.issue(Rule.spanFieldType, `${field} sent as nil; the agent reads it as 0, an int format is expected`)
        return 0n
      case 'float':
        this.issue(Rule.spanFieldType, `${field} sent as ${describe(node)}, expected int64; ${REJECTED}`)
        return Number.isFinite(node.value) ? BigInt(Math.trunc(node.value)) : 0n
      default:
        this.issue(Rule.spanFieldType, `${field} sent as ${describe(node)}, expected int64; ${REJECTED}`)
        return 0n
    }
  }

  error(node: MsgpackNode): number {
    let value: number
    if (node.kind === 'int' || node.kind === 'uint') {
      value = Number(node.value)
      if (value < -0x8000_0000 || value > 0x7fff_ffff) {
        this.issue(Rule.spanFieldType, `error = ${node.value} does not fit int32; ${REJECTED}`)
      }
    } else if (node.kind === 'nil') {
      this.issue(Rule.spanFieldType, 'error sent as nil; the agent reads it as 0, an int format is expected')
      return 0
    } else {
      this.issue(Rule.spanFieldType, `error sent as ${describe(node)}, expected int32; ${REJECTED}`)
      value = node.kind === 'bool' ? Number(node.value) : node.kind === 'float' ? Math.trunc(node.value) : 0
    }
    if (value !== 0 && value !== 1) this.issue(Rule.errorNotZeroOrOne, `error = ${value}, expected 0 or 1`)
    return value
  }

  meta(node: MsgpackNode): Record<string, string> {
    const meta: Record<string, string> = {}
    if (node.kind !== 'map') {
      const how = node.kind === 'nil' ? 'the agent reads nil as an empty map' : REJECTED
      this.issue(Rule.metaNotMap, `meta sent as ${describe(node)}, expected a map; ${how}`)
      return meta
    }
    for (let i = 0; i < node.keys.length; i++) {
      const key = this.string('meta key', node.keys[i], Rule.metaKeyNotString)
      if (Object.hasOwn(meta, key)) this.issue(Rule.metaDuplicateKey, `meta key ${JSON.stringify(key)} appears more than once; the last wins`)
      setOwn(meta, key, this.string(`meta[${JSON.stringify(key)}]`, node.values[i], Rule.metaValueNotString))
    }
    return meta
  }

  metrics(node: MsgpackNode): Record<string, number> {
    const metrics: Record<string, number> = {}
    if (node.kind !== 'map') {
      const how = node.kind === 'nil' ? 'the agent reads nil as an empty map' : REJECTED
      this.issue(Rule.metricsNotMap, `metrics sent as ${describe(node)}, expected a map; ${how}`)
      return metrics
    }
    for (let i = 0; i < node.keys.length; i++) {
      const key = this.string('metrics key', node.keys[i], Rule.metricsKeyNotString)
      if (Object.hasOwn(metrics, key)) this.issue(Rule.metricsDuplicateKey, `metrics key ${JSON.stringify(key)} appears more than once; the last wins`)
      const valueNode = node.values[i]
      const label = `metrics[${JSON.stringify(key)}]`
      let value = 0
      if (valueNode.kind === 'float' || valueNode.kind === 'int' || valueNode.kind === 'uint') {
        value = Number(valueNode.value)
        if (!Number.isFinite(value)) this.issue(Rule.metricsValueNotFinite, `${label} = ${value}`)
      } else if (valueNode.kind === 'nil') {
        this.issue(Rule.metricsValueNotNumber, `${label} sent as nil; the agent reads it as 0`)
      } else {
        this.issue(Rule.metricsValueNotNumber, `${label} sent as ${describe(valueNode)}, expected a number; ${REJECTED}`)
      }
      setOwn(metrics, key, value)
    }
    return metrics
  }

  metaStruct(node: MsgpackNode): Record<string, Uint8Array> {
    const out: Record<string, Uint8Array> = {}
    if (node.kind !== 'map') {
      this.issue(Rule.spanFieldType, `meta_struct sent as ${describe(node)}, expected a map of str to bin`)
      return out
    }
    for (let i = 0; i < node.keys.length; i++) {
      const key = this.string('meta_struct key', node.keys[i])
      const value = node.values[i]
      if (value.kind === 'bin') setOwn(out, key, value.value)
      else this.issue(Rule.spanFieldType, `meta_struct[${JSON.stringify(key)}] sent as ${describe(value)}, expected bin`)
    }
    return out
  }

  listOfMaps(field: string, node: MsgpackNode): unknown[] {
    if (node.kind !== 'array') {
      this.issue(Rule.spanFieldType, `${field} sent as ${describe(node)}, expected an array of maps`)
      return []
    }
    node.items.forEach((item, i) => {
      if (item.kind !== 'map') this.issue(Rule.spanFieldType, `${field}[${i}] sent as ${describe(item)}, expected a map`)
    })
    return node.items.map((item) => toPlain(item))
  }
}

/** Reads a span map. Returns undefined (with the issue in `issues`) when the node is not a map at all. */
export function readSpan(node: MsgpackNode, issues: SpanIssue[]): ReceivedSpan | undefined {
  if (node.kind !== 'map') {
    issues.push({ rule: Rule.spanNotMap, message: `span sent as ${describe(node)}, expected a map; ${REJECTED}` })
    return undefined
  }
  const reader = new SpanReader()
  const span: ReceivedSpan = {
    trace_id: 0n, span_id: 0n, parent_id: 0n, name: '', service: '', resource: '', type: '', start: 0n,
    duration: 0n, error: 0, meta: {}, metrics: {}
  }
  const seen = new Set<string>()
  for (let i = 0; i < node.keys.length; i++) {
    const keyNode = node.keys[i]
    const value = node.values[i]
    if (keyNode.kind !== 'str') {
      reader.issue(Rule.spanKeyNotString, `span key sent as ${describe(keyNode)}, expected str; ${REJECTED}`)
      continue
    }
    const key = keyNode.value
    if (seen.has(key)) reader.issue(Rule.spanDuplicateKey, `span key ${JSON.stringify(key)} appears more than once; the last wins`)
    seen.add(key)
    switch (key) {
      case 'service':
      case 'name':
      case 'resource':
      case 'type':
        span[key] = reader.string(key, value)
        break
      case 'trace_id':
      case 'span_id':
      case 'parent_id':
        span[key] = reader.uint64(key, value)
        break
      case 'start':
      case 'duration':
        span[key] = reader.int64(key, value)
        break
      case 'error':
        span.error = reader.error(value)
        break
      case 'meta':
        span.meta = reader.meta(value)
        break
      case 'metrics':
        span.metrics = reader.metrics(value)
        break
      case 'meta_struct':
        span.meta_struct = reader.metaStruct(value)
        break
      case 'span_links':
      case 'span_events':
        span[key] = reader.listOfMaps(key, value)
        break
      default:
        reader.issue(Rule.spanUnknownKey, `unknown span key ${JSON.stringify(key)}; the agent skips it, libdatadog rejects it`)
    }
  }
  issues.push(...reader.issues)
  return span
}
