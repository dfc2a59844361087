import { datadogPlugin } from './plugin.js'

export { datadogPlugin }
export type { DatadogPluginOptions } from './options.js'
export default datadogPlugin
