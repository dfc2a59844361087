export {
  AGENT_VERSION,
  DEFAULT_MAX_PAYLOAD_BYTES,
  DEFAULT_MAX_TRACES,
  DEFAULT_RATE_BY_SERVICE,
  TRACES_ENDPOINT,
  startAgent
} from './agent.js'
export type { Agent, AgentOptions } from './agent.js'
export type { WaitForTracesOptions } from './intake-store.js'
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
export type { ValidationInput, ValidationResult } from './validate.js'
