import * as api from 'otel-api-1-10'
import { appSuite } from './support/app-suite.js'

// Express and Fastify apps whose library traces through @opentelemetry/api 1.10, the bridge registered
// through the copy the package resolves.
appSuite(api, undefined)
