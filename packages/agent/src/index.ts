export {
  AGENT_VERSION,
  DEFAULT_MAX_PAYLOAD_BYTES,
  DEFAULT_MAX_TRACES,
  DEFAULT_RATE_BY_SERVICE,
  TRACES_ENDPOINT,
  TRACES_ENDPOINT_V05,
  startAgent
} from './agent.js'
export type { Agent, AgentOptions } from './agent.js'
export { parseFault } from './intake/faults.js'
export type { Fault, FaultControl, FaultOptions } from './intake/faults.js'
export { DEFAULT_INFO_ENDPOINTS } from './intake/info.js'
export type { InfoOptions } from './intake/info.js'
export { V05_FIELDS, v05ToV04Tree } from './intake/decode-v05.js'
export type { V05Result } from './intake/decode-v05.js'
export { DEFAULT_MAX_SPANS } from './store/intake-store.js'
export type { WaitForTracesOptions } from './store/intake-store.js'
export { DEFAULT_LIST_LIMIT, MAX_LIST_LIMIT } from './store/api.js'
export type { SummaryRow } from './store/summary.js'
export type { PayloadJson, SpanJson, TraceListItemJson, ViolationJson } from './store/trace-json.js'
export type { ShownEvent, ShownLink } from './store/span-extras.js'
export {
  DEFAULT_MAX_DEPTH,
  DEFAULT_MAX_ELEMENTS,
  DecodeErrorReason,
  MsgpackDecodeError,
  decodeMsgpack,
  decodeMsgpackTree,
  toPlain
} from './intake/msgpack-decoder.js'
export type { DecodeOptions, MsgpackFormat, MsgpackNode, PlainOptions } from './intake/msgpack-decoder.js'
export { Limits, Rule } from './intake/rules.js'
export type { RuleId } from './intake/rules.js'
export type { DropReason, ReceivedPayload, ReceivedSpan, ReceivedTrace, Violation } from './intake/types.js'
export { validateRequest } from './intake/validate.js'
export { STATS_ENDPOINT } from './stats/stats-intake.js'
export { decodeStatsPayload, StatsDecodeError } from './stats/stats-decoder.js'
export type { ReceivedStatsBucket, ReceivedStatsGroup, ReceivedStatsPayload } from './stats/stats-decoder.js'
export { decodeSketch, sketchQuantile, SketchDecodeError } from './stats/stats-sketch.js'
export type { ReceivedSketch } from './stats/stats-sketch.js'
export type { ReceivedStats } from './stats/stats-store.js'
export type { ClientStatsRow } from './stats/stats-summary.js'
export type { ValidationInput, ValidationResult } from './intake/validate.js'
export { DOGSTATSD_PROXY_ENDPOINT } from './metrics/dogstatsd-proxy.js'
export { DEFAULT_DOGSTATSD_PORT } from './metrics/dogstatsd-udp.js'
export { parseMetricLine } from './metrics/dogstatsd-parser.js'
export type { MetricLine, MetricTypeName, ParseResult } from './metrics/dogstatsd-parser.js'
export { DEFAULT_MAX_POINTS, DEFAULT_MAX_SERIES } from './metrics/metric-store.js'
export type { InvalidLine, MetricCounts, MetricProcess, MetricSeries, SeriesFilter, WaitForMetricOptions } from './metrics/metric-store.js'
