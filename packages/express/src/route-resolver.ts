import { layerPattern, type LayerLike } from './layer-pattern.js'
import { joinRoute, patternText } from './route-text.js'

/**
 * The full route of a request, read from what Express leaves on `req` when a route runs: `req.route`
 * (the matched Route, whose `path` is relative to its router), `req.app` (the innermost app) and
 * `req.baseUrl` (the concrete mount prefix). The mount *patterns* above the route are found by looking
 * the Route object up in the app's router tree: a Route sits in exactly one router, and that router's
 * place in the tree gives the mount layers above it. The lookup happens once per Route and is cached;
 * nothing in Express is wrapped or replaced.
 */

interface RouterLike {
  readonly stack: readonly unknown[]
}

interface RequestLike {
  readonly route?: unknown
  readonly app?: unknown
  readonly baseUrl?: unknown
  readonly originalUrl?: unknown
  readonly url?: unknown
}

interface Chain {
  /** Mount layers from the app's router down to the router that holds the route. */
  readonly mounts: readonly LayerLike[]
  readonly route: LayerLike
}

interface RouteEntry {
  readonly chains: readonly Chain[]
  /** The joined route when it does not depend on the request (one chain, no array paths). */
  readonly fixed: string | undefined
}

// Bounds on the tree walk, so that a pathological router graph cannot stall a request.
const MAX_DEPTH = 32
const MAX_CHAINS = 16
const MAX_VISITS = 100_000

interface RouteIndex {
  readonly routes: Map<object, RouteEntry>
  /** Length of the root router's stack when walked: a mount added at the top later makes it stale. */
  readonly stackLength: number
}

const EMPTY_ENTRY: RouteEntry = { chains: [], fixed: undefined }
const indexes = new WeakMap<object, RouteIndex>()
const appPrefixes = new WeakMap<object, string>()

function isObjectLike(value: unknown): value is Record<string, unknown> {
  return (typeof value === 'object' || typeof value === 'function') && value !== null
}

function asRouter(value: unknown): RouterLike | undefined {
  return isObjectLike(value) && Array.isArray(value.stack) ? (value as unknown as RouterLike) : undefined
}

/**
 * The router of an Express app: `_router` in Express 4, whose `router` getter throws (so it is never
 * read there: Express 4 apps are the ones with `lazyrouter`), and `router` in Express 5.
 */
function appRouter(app: unknown): RouterLike | undefined {
  if (!isObjectLike(app)) return undefined
  if (typeof app.lazyrouter === 'function') return asRouter(app._router)
  try {
    return asRouter(app.router)
  } catch {
    return undefined
  }
}

/** What a mount layer leads to: a router, or an app used as plain middleware (`router.use(app)`). */
function childRouter(handle: unknown): RouterLike | undefined {
  const router = asRouter(handle)
  if (router !== undefined) return router
  if (isObjectLike(handle) && typeof handle.handle === 'function' && typeof handle.set === 'function') return appRouter(handle)
  return undefined
}

class IndexBuilder {
  readonly routes = new Map<object, Chain[]>()
  #visits = 0
  readonly #seen = new Set<RouterLike>()
  readonly #mounts: LayerLike[] = []

  walk(router: RouterLike, depth: number): void {
    for (const item of router.stack) {
      if (++this.#visits > MAX_VISITS) return
      if (!isObjectLike(item)) continue
      const layer = item as LayerLike
      const route = layer.route
      if (isObjectLike(route)) {
        let chains = this.routes.get(route)
        if (chains === undefined) this.routes.set(route, (chains = []))
        if (chains.length < MAX_CHAINS) chains.push({ mounts: this.#mounts.slice(), route: layer })
        continue
      }
      const child = childRouter(layer.handle)
      if (child === undefined || depth >= MAX_DEPTH || this.#seen.has(child)) continue
      this.#seen.add(child)
      this.#mounts.push(layer)
      this.walk(child, depth + 1)
      this.#mounts.pop()
      this.#seen.delete(child)
    }
  }
}

function fixedRoute(chains: readonly Chain[], routePath: unknown): string | undefined {
  if (chains.length !== 1) return undefined
  const chain = chains[0]
  const parts: string[] = []
  for (const mount of chain.mounts) {
    const fixed = layerPattern(mount).fixed
    if (fixed === undefined) return undefined
    parts.push(fixed)
  }
  const fixed = layerPattern(chain.route, routePath).fixed
  if (fixed === undefined) return undefined
  parts.push(fixed)
  return joinRoute(parts)
}

/**
 * The entry of `route` under `router`. The whole tree is indexed at once. A Route not in the index, or a
 * layer added to the root router since the walk (a late `app.use`), triggers one new walk; a Route still
 * absent after it is remembered as such.
 */
function lookup(router: RouterLike, route: Record<string, unknown>): RouteEntry {
  const index = indexes.get(router)
  let entry = index?.stackLength === router.stack.length ? index.routes.get(route) : undefined
  if (entry !== undefined) return entry
  const routes = index?.routes
  const builder = new IndexBuilder()
  builder.walk(router, 0)
  const fresh = new Map<object, RouteEntry>()
  for (const [found, chains] of builder.routes) {
    fresh.set(found, { chains, fixed: fixedRoute(chains, (found as { path?: unknown }).path) })
  }
  // Routes known to be unreachable stay known, so two of them cannot make every request walk the tree.
  for (const [known, old] of routes ?? []) {
    if (old === EMPTY_ENTRY && !fresh.has(known)) fresh.set(known, EMPTY_ENTRY)
  }
  entry = fresh.get(route) ?? EMPTY_ENTRY
  if (entry === EMPTY_ENTRY) fresh.set(route, EMPTY_ENTRY)
  indexes.set(router, { routes: fresh, stackLength: router.stack.length })
  return entry
}

function mountText(mountpath: unknown): string {
  const text = patternText(mountpath)
  if (text !== undefined) return text
  return Array.isArray(mountpath) ? mountpath.map((p) => patternText(p) ?? '').join(',') : ''
}

/** The mount patterns of the sub-apps between the top app and `app` (`app.use('/admin', adminApp)`). */
function appPrefix(app: unknown): string {
  if (!isObjectLike(app) || !isObjectLike(app.parent)) return ''
  let prefix = appPrefixes.get(app)
  if (prefix !== undefined) return prefix
  const parts: string[] = []
  let current: unknown = app
  for (let depth = 0; depth < MAX_DEPTH && isObjectLike(current) && isObjectLike(current.parent); depth++) {
    parts.unshift(mountText(current.mountpath))
    current = current.parent
  }
  prefix = joinRoute(parts)
  if (prefix === '/') prefix = ''
  appPrefixes.set(app, prefix)
  return prefix
}

function pathname(url: unknown): string {
  if (typeof url !== 'string') return '/'
  let path = url
  if (path[0] !== '/') {
    // Absolute-form request target (`GET http://host/path`): Express routes on the path part.
    const scheme = path.indexOf('://')
    const slash = scheme === -1 ? -1 : path.indexOf('/', scheme + 3)
    path = slash === -1 ? '/' : path.slice(slash)
  }
  const end = path.search(/[?#]/)
  return end === -1 ? path : path.slice(0, end)
}

function matchChain(chain: Chain, routePath: unknown, local: string): string[] | undefined {
  let path = local === '' ? '/' : local
  const parts: string[] = []
  for (const mount of chain.mounts) {
    const m = layerPattern(mount).match(path)
    if (m === undefined) return undefined
    const consumed = m.consumed
    if (consumed.length > 0) {
      // The same checks Express makes before it strips a mount prefix.
      if (!path.startsWith(consumed)) return undefined
      const next = path[consumed.length]
      if (next !== undefined && next !== '/') return undefined
      path = path.slice(consumed.length)
      if (path[0] !== '/') path = '/' + path
    }
    parts.push(m.pattern)
  }
  const m = layerPattern(chain.route, routePath).match(path)
  if (m === undefined) return undefined
  parts.push(m.pattern)
  return parts
}

/**
 * Replays the candidate chains against the request path when the route depends on it: the same router
 * mounted at several paths, array paths, or router < 2.3 mounts. Under a sub-app the concrete length of
 * the app's own mount prefix is unknown, so each `/` boundary of `req.baseUrl` is tried.
 */
function matchChains(entry: RouteEntry, req: RequestLike, routePath: unknown, prefix: string, nested: boolean): string | undefined {
  const path = pathname(req.originalUrl ?? req.url)
  const baseUrl = typeof req.baseUrl === 'string' ? req.baseUrl : ''
  for (let offset = 0; offset <= baseUrl.length; offset++) {
    if (offset > 0 && offset < baseUrl.length && baseUrl[offset] !== '/') continue
    for (const chain of entry.chains) {
      const parts = matchChain(chain, routePath, path.slice(offset))
      if (parts !== undefined) return prefix === '' ? joinRoute(parts) : joinRoute([prefix, ...parts])
    }
    if (!nested) break
  }
  return undefined
}

/** True when `app` is `top` or mounted under it through `app.use(path, subApp)` links. */
function mountedUnder(app: unknown, top: unknown): boolean {
  let current = app
  for (let depth = 0; depth < MAX_DEPTH && isObjectLike(current); depth++) {
    if (current === top) return true
    current = current.parent
  }
  return false
}

/**
 * The route of the request, or undefined when no route matched (404, or a middleware answered). `top` is
 * the app the middleware ran in (`req.app` then).
 */
export function resolveRoute(req: RequestLike, top: unknown): string | undefined {
  const route = req.route
  if (!isObjectLike(route)) return undefined
  const routePath = route.path
  let app = req.app
  let prefix: string
  if (app === top || top === undefined || mountedUnder(app, top)) {
    prefix = appPrefix(app)
  } else {
    // An app used as plain middleware (`router.use('/x', subApp)`) has no `parent`: search from the top
    // app instead, whose walk goes through such apps.
    app = top
    prefix = appPrefix(top)
  }
  const router = appRouter(app)
  const entry = router === undefined ? EMPTY_ENTRY : lookup(router, route)
  if (entry.fixed !== undefined) return prefix === '' ? entry.fixed : joinRoute([prefix, entry.fixed])
  if (entry.chains.length > 0) {
    const matched = matchChains(entry, req, routePath, prefix, isObjectLike(app) && isObjectLike(app.parent))
    if (matched !== undefined) return matched
  }
  // The Route is not reachable from the app (a router called from a plain function, say): the concrete
  // mount prefix is the best that can be said without patching Express.
  const baseUrl = typeof req.baseUrl === 'string' ? req.baseUrl : ''
  return joinRoute([baseUrl, patternText(routePath) ?? mountText(routePath)])
}
