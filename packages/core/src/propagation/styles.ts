/** The header formats a tracer reads and writes. */
export const PropagationStyle = {
  DATADOG: 'datadog',
  TRACECONTEXT: 'tracecontext',
  BAGGAGE: 'baggage',
  /** B3 single header (`b3: {trace}-{span}-{sampled}`), as `b3` means in dd-trace 6. */
  B3: 'b3',
  B3_MULTI: 'b3multi'
} as const

export type PropagationStyleName = (typeof PropagationStyle)[keyof typeof PropagationStyle]

/** What to do with an extracted context: continue the trace, start a new one linked to it, or ignore it. */
export type ExtractBehavior = 'continue' | 'restart' | 'ignore'

/** Options of context propagation (`createTracer({ propagation })`), resolved in config/. Every field is optional. */
export interface PropagationOptions {
  /**
   * Styles read and written, in extraction order: `datadog`, `tracecontext`, `baggage`, `b3` (single
   * header), `b3multi`, `none`; a list or a comma-separated string. Env `DD_TRACE_PROPAGATION_STYLE`
   * (alias `OTEL_PROPAGATORS`); default `datadog,tracecontext,baggage`.
   */
  style?: string | readonly string[]
  /** Styles read. Env `DD_TRACE_PROPAGATION_STYLE_EXTRACT`; default: `style`. */
  extract?: string | readonly string[]
  /** Styles written. Env `DD_TRACE_PROPAGATION_STYLE_INJECT`; default: `style`. */
  inject?: string | readonly string[]
  /** Use the first valid context as is: no merging, no span links. Env `DD_TRACE_PROPAGATION_EXTRACT_FIRST`; default false. */
  extractFirst?: boolean
  /**
   * `continue` the caller's trace, `restart` (a new trace with a span link to the caller's) or `ignore`
   * incoming headers. Env `DD_TRACE_PROPAGATION_BEHAVIOR_EXTRACT`; default `continue`.
   */
  behaviorExtract?: ExtractBehavior
  /** Longest `x-datadog-tags` read or written; 0 turns the header off. Env `DD_TRACE_X_DATADOG_TAGS_MAX_LENGTH`; default 512. */
  tagsHeaderMaxLength?: number
  /** Baggage members kept. Env `DD_TRACE_BAGGAGE_MAX_ITEMS`; default 64. */
  baggageMaxItems?: number
  /** Longest `baggage` header kept, in bytes. Env `DD_TRACE_BAGGAGE_MAX_BYTES`; default 8192. */
  baggageMaxBytes?: number
  /**
   * Baggage keys that become `baggage.<key>` tags on the first span of this service; `['*']` for all.
   * Env `DD_TRACE_BAGGAGE_TAG_KEYS`; default `user.id, session.id, account.id`.
   */
  baggageTagKeys?: readonly string[]
}

/** Propagation options after merging over the environment. */
export interface PropagationConfig {
  readonly extract: readonly PropagationStyleName[]
  readonly inject: readonly PropagationStyleName[]
  readonly extractFirst: boolean
  readonly behaviorExtract: ExtractBehavior
  readonly tagsHeaderMaxLength: number
  readonly baggageMaxItems: number
  readonly baggageMaxBytes: number
  /** 'all' for `*`. */
  readonly baggageTagKeys: ReadonlySet<string> | 'all'
}

export const DEFAULT_STYLES: readonly PropagationStyleName[] = Object.freeze(['datadog', 'tracecontext', 'baggage'] as const)
export const DEFAULT_TAGS_HEADER_MAX_LENGTH = 512
export const DEFAULT_BAGGAGE_MAX_ITEMS = 64
export const DEFAULT_BAGGAGE_MAX_BYTES = 8192
export const DEFAULT_BAGGAGE_TAG_KEYS: readonly string[] = Object.freeze(['user.id', 'session.id', 'account.id'])

const ALIASES: Readonly<Record<string, PropagationStyleName | 'none'>> = {
  datadog: 'datadog',
  tracecontext: 'tracecontext',
  baggage: 'baggage',
  b3: 'b3',
  'b3 single header': 'b3',
  b3multi: 'b3multi',
  none: 'none'
}

/**
 * Parses a style list. Unknown names are reported through `unknown` and skipped; `none` alone means no
 * style. Undefined when nothing valid was named (so the caller can fall back).
 */
export function parseStyles(input: string | readonly string[], unknown: (name: string) => void): PropagationStyleName[] | undefined {
  const items = typeof input === 'string' ? input.split(',') : input
  const styles: PropagationStyleName[] = []
  let valid = false
  for (const raw of items) {
    if (typeof raw !== 'string') {
      unknown(String(raw))
      continue
    }
    const name = raw.trim().toLowerCase()
    if (name === '') continue
    const style = Object.hasOwn(ALIASES, name) ? ALIASES[name] : undefined
    if (style === undefined) {
      unknown(raw.trim())
      continue
    }
    valid = true
    if (style !== 'none' && !styles.includes(style)) styles.push(style)
  }
  return valid ? styles : undefined
}
