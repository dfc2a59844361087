import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { test } from 'node:test'
import { cgroupNodePath, parseContainerId, parseContainerIdLine, readContainerIdentity } from '../src/export/container-id.js'

const fixture = (name: string): string => readFileSync(new URL(`./fixtures/cgroup/${name}`, import.meta.url), 'utf8')

test('container ids from cgroup v1 and v2 files: docker, kubepods, containerd, ECS, Fargate', () => {
  assert.equal(parseContainerId(fixture('docker-v1')), '3726184226f5d3147c25fdeab5b60097e378e8a720503a5e19ecfdf29f869860')
  assert.equal(parseContainerId(fixture('kubepods-v1')), '3291bfddf3f3f8d87cb0cd1245fe9c45b2e1e5a9b6fe3de1bddf041aedaecbab')
  assert.equal(parseContainerId(fixture('containerd-v2')), '7b8952daecf4c0e44bbcefe1b5c5ebc7b4839d4eefeccefe694709d3809b6199')
  assert.equal(parseContainerId(fixture('ecs')), '38fac3e99302b3622be089dd41e7ccf38aff368a86cc339972075136ee2710ce')
  assert.equal(parseContainerId(fixture('fargate-1.4')), '8cd79a803caf4d2aa945152e934a5c00-1053176469')
  assert.equal(parseContainerId(fixture('host-v2')), undefined)
  assert.equal(parseContainerId(fixture('host-v1')), undefined)
  assert.equal(parseContainerId(''), undefined)
})

test('line rules: one hex digit short or wrong, uppercase, or a bad line shape give nothing', () => {
  const id = '3726184226f5d3147c25fdeab5b60097e378e8a720503a5e19ecfdf29f869860'
  assert.equal(parseContainerIdLine(`13:name=systemd:/docker/${id}    `), id, 'trailing spaces are allowed')
  assert.equal(parseContainerIdLine(`13:name=systemd:/docker/${id.slice(1)}`), undefined, '63 hex digits')
  assert.equal(parseContainerIdLine(`13:name=systemd:/docker/${id.replace('c', 'g')}`), undefined)
  assert.equal(parseContainerIdLine(`13:name=systemd:/docker/${id.toUpperCase()}`), undefined)
  assert.equal(parseContainerIdLine(`/docker/${id}`), undefined, 'not a cgroup line')
  assert.equal(parseContainerIdLine('1:name=systemd:/docker/34dc0b5e626f2c5c4c5170e34b10e7654ce36f0fcd532739f4445baabea03376.scope'), '34dc0b5e626f2c5c4c5170e34b10e7654ce36f0fcd532739f4445baabea03376')
  assert.equal(parseContainerIdLine('0::/machine.slice/libpod-93afc7bc3ce42ad052d2926ffacfba941803bfae080941d1e1375d9d46b6a281.scope/container'), '93afc7bc3ce42ad052d2926ffacfba941803bfae080941d1e1375d9d46b6a281')
  assert.equal(parseContainerIdLine('1:name=systemd:/uuid/5a081c13-b8cf-4801-b427-f4601742204d'), '5a081c13-b8cf-4801-b427-f4601742204d')
  assert.equal(parseContainerIdLine('10:freezer:/garden/6f265890-5165-7fab-6b52-18d1'), '6f265890-5165-7fab-6b52-18d1')
})

test('the cgroup node: the v1 memory controller first, else the v2 unified line', () => {
  assert.equal(cgroupNodePath(fixture('host-v1')), '/sys/fs/cgroup/memory/user.slice/user-0.slice/session-14.scope')
  assert.equal(cgroupNodePath(fixture('host-v2')), '/sys/fs/cgroup/user.slice/user-1000.slice/session-3.scope')
  assert.equal(cgroupNodePath('0::/'), '/sys/fs/cgroup')
  assert.equal(cgroupNodePath('garbage'), undefined)
})

test('identity headers: ci-<id> in a container, in-<inode> without an id, nothing on the host namespace or on errors', () => {
  const files = (cgroup: string, inodes: Record<string, number>) => ({
    readText: () => cgroup,
    inode: (path: string) => {
      const inode = inodes[path]
      if (inode === undefined) throw new Error(`ENOENT ${path}`)
      return inode
    }
  })
  assert.deepEqual(readContainerIdentity(files(fixture('docker-v1'), {})), {
    containerId: '3726184226f5d3147c25fdeab5b60097e378e8a720503a5e19ecfdf29f869860',
    entityId: 'ci-3726184226f5d3147c25fdeab5b60097e378e8a720503a5e19ecfdf29f869860'
  })
  assert.deepEqual(readContainerIdentity(files('0::/', { '/proc/self/ns/cgroup': 4026531835 + 1, '/sys/fs/cgroup': 1234 })), { containerId: undefined, entityId: 'in-1234' })
  assert.deepEqual(readContainerIdentity(files('0::/', { '/proc/self/ns/cgroup': 0xeffffffb, '/sys/fs/cgroup': 1234 })), { containerId: undefined, entityId: undefined })
  const unreadable = { readText: () => { throw new Error('EACCES') }, inode: () => 1 }
  assert.deepEqual(readContainerIdentity(unreadable), { containerId: undefined, entityId: undefined })
})
