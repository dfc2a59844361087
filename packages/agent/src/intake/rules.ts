// Stable ids for every violation the intake records. Tests match on these, so an id never changes meaning;
// a new check gets a new id.
export const Rule = {
  // Request level.
  contentTypeNotMsgpack: 'content-type-not-msgpack',
  contentLengthMissing: 'content-length-missing',
  contentLengthMismatch: 'content-length-mismatch',
  traceCountHeaderMissing: 'trace-count-header-missing',
  traceCountHeaderInvalid: 'trace-count-header-invalid',
  traceCountHeaderMismatch: 'trace-count-header-mismatch',
  metaLangHeaderMissing: 'meta-lang-header-missing',
  metaLangVersionHeaderMissing: 'meta-lang-version-header-missing',
  metaLangInterpreterHeaderMissing: 'meta-lang-interpreter-header-missing',
  tracerVersionHeaderMissing: 'tracer-version-header-missing',
  requestAborted: 'request-aborted',
  payloadTooLarge: 'payload-too-large',
  payloadUndecodable: 'payload-undecodable',
  payloadNotArray: 'payload-not-array',
  // Trace level.
  traceNotArray: 'trace-not-array',
  traceEmpty: 'trace-empty',
  traceIdZero: 'trace-id-zero',
  spanIdZero: 'span-id-zero',
  foreignSpan: 'foreign-span',
  duplicateSpanId: 'duplicate-span-id',
  // Span structure and msgpack types.
  spanNotMap: 'span-not-map',
  spanKeyNotString: 'span-key-not-string',
  spanUnknownKey: 'span-unknown-key',
  spanDuplicateKey: 'span-duplicate-key',
  spanFieldType: 'span-field-type',
  invalidUtf8: 'invalid-utf8',
  errorNotZeroOrOne: 'error-not-0-or-1',
  metaNotMap: 'meta-not-map',
  metaKeyNotString: 'meta-key-not-string',
  metaValueNotString: 'meta-value-not-string',
  metaDuplicateKey: 'meta-duplicate-key',
  metricsNotMap: 'metrics-not-map',
  metricsKeyNotString: 'metrics-key-not-string',
  metricsValueNotNumber: 'metrics-value-not-number',
  metricsValueNotFinite: 'metrics-value-not-finite',
  metricsDuplicateKey: 'metrics-duplicate-key',
  // Span values, after the agent's normalizer and truncator.
  serviceEmpty: 'service-empty',
  nameEmpty: 'name-empty',
  resourceEmpty: 'resource-empty',
  serviceTooLong: 'service-too-long',
  nameTooLong: 'name-too-long',
  typeTooLong: 'type-too-long',
  resourceTooLong: 'resource-too-long',
  metaKeyTooLong: 'meta-key-too-long',
  metaValueTooLong: 'meta-value-too-long',
  metricsKeyTooLong: 'metrics-key-too-long',
  durationNegative: 'duration-negative',
  startBefore2000: 'start-before-2000',
  httpStatusCodeInvalid: 'http-status-code-invalid',
  traceIdHighInvalid: 'trace-id-high-invalid'
} as const

export type RuleId = (typeof Rule)[keyof typeof Rule]

// Limits the agent's normalizer and truncator apply, in UTF-8 bytes (the agent truncates bytes, not characters).
export const Limits = {
  serviceBytes: 100,
  nameBytes: 100,
  typeBytes: 100,
  resourceBytes: 5000,
  metaKeyBytes: 200,
  metaValueBytes: 25_000,
  metricsKeyBytes: 200
} as const
