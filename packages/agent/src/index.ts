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
export { parseFault } from './faults.js'
export type { Fault, FaultControl, FaultOptions } from './faults.js'
export { DEFAULT_INFO_ENDPOINTS } from './info.js'
export type { InfoOptions } from './info.js'
export { V05_FIELDS, v05ToV04Tree } from './decode-v05.js'
export type { V05Result } from './decode-v05.js'
export { DEFAULT_MAX_SPANS } from './intake-store.js'
export type { WaitForTracesOptions } from './intake-store.js'
export { DEFAULT_LIST_LIMIT, MAX_LIST_LIMIT } from './api.js'
export type { SummaryRow } from './summary.js'
export type { PayloadJson, SpanJson, TraceListItemJson, ViolationJson } from './trace-json.js'
export {
  DEFAULT_MAX_DEPTH,
  DEFAULT_MAX_ELEMENTS,
  DecodeErrorReason,
  MsgpackDecodeError,
  decodeMsgpack,
  decodeMsgpackTree,
  toPlain
} from './msgpack-decoder.js'
export type { DecodeOptions, MsgpackFormat, MsgpackNode, PlainOptions } from './msgpack-decoder.js'
export { Limits, Rule } from './rules.js'
export type { RuleId } from './rules.js'
export type { DropReason, ReceivedPayload, ReceivedSpan, ReceivedTrace, Violation } from './types.js'
export { validateRequest } from './validate.js'
export { STATS_ENDPOINT } from './stats-intake.js'
export { decodeStatsPayload, StatsDecodeError } from './stats-decoder.js'
export type { ReceivedStatsBucket, ReceivedStatsGroup, ReceivedStatsPayload } from './stats-decoder.js'
export { decodeSketch, sketchQuantile, SketchDecodeError } from './stats-sketch.js'
export type { ReceivedSketch } from './stats-sketch.js'
export type { ReceivedStats } from './stats-store.js'
export type { ClientStatsRow } from './stats-summary.js'
export type { ValidationInput, ValidationResult } from './validate.js'
