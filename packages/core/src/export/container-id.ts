import { readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'

// Container identity for the agent's tagging, as libdatadog's entity_id reads it:
// a container id from /proc/self/cgroup, else the inode of the process's cgroup directory, sent as
// `Datadog-Container-ID` and `Datadog-Entity-ID` (`ci-<id>` or `in-<inode>`).

const UUID = '[0-9a-f]{8}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{12}'
// PCF / Garden: 8-4-4-4-4.
const PCF_UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}'
const CONTAINER = '[0-9a-f]{64}'
// ECS Fargate 1.4+: 32 hex, a dash, digits.
const TASK = '[0-9a-f]{32}-\\d+'
const LINE = /^\d+:[^:]*:(.+)$/
const ID = new RegExp(`(${UUID}|${PCF_UUID}|${CONTAINER}|${TASK})(?:\\.scope(?:/[^/ \\t]+)?)? *$`)

/** The container id in one /proc/self/cgroup line, if any. */
export function parseContainerIdLine(line: string): string | undefined {
  const path = LINE.exec(line)?.[1]
  if (path === undefined) return undefined
  return ID.exec(path)?.[1]
}

/** The first container id in a /proc/self/cgroup file. */
export function parseContainerId(cgroup: string): string | undefined {
  for (const line of cgroup.split('\n')) {
    const id = parseContainerIdLine(line)
    if (id !== undefined) return id
  }
  return undefined
}

/**
 * The directory of the process's cgroup: under the v1 `memory` controller when there is one, else the
 * v2 unified hierarchy (the line with an empty controller list).
 */
export function cgroupNodePath(cgroup: string, mountPath = '/sys/fs/cgroup', controller = 'memory'): string | undefined {
  let node: string | undefined
  for (const line of cgroup.split('\n')) {
    const entry = line.split(':')
    if (entry.length !== 3) continue
    const controllers = entry[1].split(',')
    const v1 = controllers.includes(controller)
    if (!v1 && !controllers.includes('')) continue
    const relative = entry[2].startsWith('/') ? entry[2].slice(1) : entry[2]
    node = join(mountPath, v1 ? controller : '', relative)
    if (v1) break
  }
  return node
}

/** The inode of the host's cgroup namespace (include/linux/proc_ns.h): the process is not in a container. */
const HOST_CGROUP_NAMESPACE_INODE = 0xeffffffb

export interface ContainerIdentity {
  readonly containerId: string | undefined
  /** `ci-<container id>` or `in-<cgroup inode>`. */
  readonly entityId: string | undefined
}

export interface ContainerIdentitySources {
  readText(path: string): string
  inode(path: string): number
}

const fsSources: ContainerIdentitySources = {
  readText: (path) => readFileSync(path, 'utf8'),
  inode: (path) => statSync(path).ino
}

/** Reads the identity once (at exporter construction); any failure just means no headers. */
export function readContainerIdentity(sources: ContainerIdentitySources = fsSources, cgroupPath = '/proc/self/cgroup'): ContainerIdentity {
  if (process.platform !== 'linux' && sources === fsSources) return { containerId: undefined, entityId: undefined }
  let cgroup: string
  try {
    cgroup = sources.readText(cgroupPath)
  } catch {
    return { containerId: undefined, entityId: undefined }
  }
  const containerId = parseContainerId(cgroup)
  if (containerId !== undefined) return { containerId, entityId: `ci-${containerId}` }
  try {
    // In the host's cgroup namespace the inode would name the host's cgroup, not a container.
    if (sources.inode('/proc/self/ns/cgroup') === HOST_CGROUP_NAMESPACE_INODE) return { containerId: undefined, entityId: undefined }
    const node = cgroupNodePath(cgroup)
    if (node === undefined) return { containerId: undefined, entityId: undefined }
    const inode = sources.inode(node)
    return { containerId: undefined, entityId: inode > 0 ? `in-${inode}` : undefined }
  } catch {
    return { containerId: undefined, entityId: undefined }
  }
}
