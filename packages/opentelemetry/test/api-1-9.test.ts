import * as api from 'otel-api-1-9'
import { bridgeSuite, type LibraryApi } from './support/bridge-suite.js'

// A library and app on @opentelemetry/api 1.9, the bridge registered through that copy. The suite is
// typed with the 1.10 declarations, whose classes TypeScript will not take for 1.9's (private fields).
bridgeSuite(api as unknown as LibraryApi, api)
