export { TracerProvider } from './tracer-provider.js'
export type { OpenTelemetryApi, RegisterOptions, TracerProviderOptions } from './tracer-provider.js'
