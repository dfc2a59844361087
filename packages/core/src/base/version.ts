/** Sent as `Datadog-Meta-Tracer-Version`; a test keeps it equal to package.json's version. */
export const TRACER_VERSION = '0.1.0'
