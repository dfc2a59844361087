export { datadog } from './middleware.js'
export type { DatadogErrorHandler, DatadogMiddleware, ExpressTracingOptions, NextFunction } from './middleware.js'
export { rootSpan, setRoute } from './request-state.js'
