import * as api from 'otel-api-1-9'
import { appSuite } from './support/app-suite.js'
import type { LibraryApi } from './support/bridge-suite.js'

// Express and Fastify apps whose library traces through @opentelemetry/api 1.9 (typed with 1.10's
// declarations, which TypeScript will not take for 1.9's classes).
appSuite(api as unknown as LibraryApi, api)
