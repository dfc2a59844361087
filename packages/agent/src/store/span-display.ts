import { Buffer } from 'node:buffer'
import { Limits } from '../intake/rules.js'
import { obfuscateSqlForDisplay } from './sql-obfuscate.js'
import type { ReceivedStatsGroup } from '../stats/stats-decoder.js'
import type { ReceivedSpan } from '../intake/types.js'

// What the page and the query API show of a span where the Datadog Agent would show something else than
// what the tracer sent: the agent obfuscates the resource of `sql` and `cassandra` spans, writes the
// result into `sql.query` too, and only then cuts the resource at 5000 bytes and meta values at 25000.
// It obfuscates the resource of such client-stats groups too, unless the tracer says it did
// (`Datadog-Obfuscation-Version`). Spans and stats keep what was sent (`agent.traces()`, `agent.stats()`);
// the shown values are worked out the first time they are asked for and kept beside their span or
// group, which the store drops with it.

interface ShownSql {
  resource: string
  query: string
  /** UTF-8 bytes of the obfuscated resource before the cut (counted up to the meta value limit). */
  obfuscatedBytes: number
}

const shown = new WeakMap<ReceivedSpan | ReceivedStatsGroup, ShownSql>()

/** Spans (and stats groups) whose resource the agent obfuscates as SQL. */
export function isSqlSpan(span: { readonly type: string }): boolean {
  return span.type === 'sql' || span.type === 'cassandra'
}

function shownSql(owner: ReceivedSpan | ReceivedStatsGroup): ShownSql {
  let values = shown.get(owner)
  if (values === undefined) {
    const full = obfuscateSqlForDisplay(owner.resource, Limits.metaValueBytes)
    const query = cutUtf8(full, Limits.metaValueBytes)
    // The agent's truncator marks a cut meta value with `...`; a cut resource it leaves unmarked.
    values = { resource: cutUtf8(full, Limits.resourceBytes), query: query === full ? full : `${query}...`, obfuscatedBytes: Buffer.byteLength(query) }
    shown.set(owner, values)
  }
  return values
}

/** The resource as the agent shows it: SQL obfuscated and cut at the resource limit, any other as sent. */
export function shownResource(span: ReceivedSpan): string {
  return isSqlSpan(span) && span.resource !== '' ? shownSql(span).resource : span.resource
}

/** UTF-8 bytes of a SQL span's resource once obfuscated: what the agent's resource limit applies to. */
export function obfuscatedResourceBytes(span: ReceivedSpan): number {
  return shownSql(span).obfuscatedBytes
}

/** A client-stats group's resource as the agent shows it: obfuscated unless `sentObfuscated`. */
export function shownGroupResource(group: ReceivedStatsGroup, sentObfuscated: boolean): string {
  return !sentObfuscated && isSqlSpan(group) && group.resource !== '' ? shownSql(group).resource : group.resource
}

/** The meta as the agent shows it: on a SQL span, `sql.query` holds the obfuscated statement. */
export function shownMeta(span: ReceivedSpan): Record<string, string> {
  if (!isSqlSpan(span) || span.resource === '') return span.meta
  return { ...span.meta, 'sql.query': shownSql(span).query }
}

/** The longest start of `text` that fits in `maxBytes` of UTF-8, never splitting a character. */
export function cutUtf8(text: string, maxBytes: number): string {
  if (text.length * 3 <= maxBytes) return text
  const bytes = Buffer.from(text, 'utf8')
  if (bytes.length <= maxBytes) return text
  // The first byte left out must start a character: step back over continuation bytes (10xxxxxx).
  let end = maxBytes
  while (end > 0 && ((bytes[end] ?? 0) & 0xc0) === 0x80) end--
  return bytes.subarray(0, end).toString('utf8')
}
