import { spawn } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import {
  clusterIdOf,
  DEFAULT_KAFKA_PORT,
  describeKafka,
  ForeignKafkaError,
  inspectKafka,
  KafkaExitedError,
  nodesOf,
  startKafka,
  waitUntilReady,
  watchExits
} from './cluster.ts'
import { answers, listenerOn } from './listeners.ts'

const cleanups: (() => Promise<void> | void)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'runnel-kafka-test-'))
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

// A TCP listener on 127.0.0.1 standing in for a broker this script did not start.
async function listen(port = 0): Promise<{ server: Server; port: number }> {
  const server = createServer((socket) => socket.destroy())
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, '127.0.0.1', () => resolve())
  })
  cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())))
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('no port')
  return { server, port: address.port }
}

// A port that nothing listens on right now.
async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
  const address = server.address()
  await new Promise<void>((resolve) => server.close(() => resolve()))
  if (address === null || typeof address === 'string') throw new Error('no port')
  return address.port
}

const onLinux = process.platform === 'linux'

describe('local Kafka layout', () => {
  it('puts the single node on 9092/9093 by default, and another port in its own folder', () => {
    const [node] = nodesOf('single', { runtimeDir: '/r' })
    expect(node).toEqual({ id: 1, brokerPort: DEFAULT_KAFKA_PORT, controllerPort: 9093, dir: '/r/single' })
    expect(nodesOf('single', { runtimeDir: '/r', port: 19192 })[0]).toEqual({ id: 1, brokerPort: 19192, controllerPort: 19193, dir: '/r/single-19192' })
    expect(nodesOf('cluster', { runtimeDir: '/r' }).map((n) => n.brokerPort)).toEqual([19092, 29092, 39092])
    expect(() => nodesOf('cluster', { port: 1000 })).toThrow(/single node only/)
    expect(() => nodesOf('single', { port: 65535 })).toThrow(/port must be an integer from 1 to 65534/)
  })

  it('reads the cluster id the storage was formatted with', () => {
    const [node] = nodesOf('single', { runtimeDir: tempDir() })
    if (node === undefined) throw new Error('no node')
    expect(clusterIdOf(node)).toBeUndefined()
    mkdirSync(join(node.dir, 'data'), { recursive: true })
    writeFileSync(join(node.dir, 'data', 'meta.properties'), '#\nnode.id=1\nversion=1\ncluster.id=O_m8RK2oQFG4zBHs1CRvsw\n')
    expect(clusterIdOf(node)).toBe('O_m8RK2oQFG4zBHs1CRvsw')
  })
})

describe('listeners', () => {
  it('tells whether a port answers and, on Linux, which process listens', async () => {
    const { port } = await listen()
    expect(await answers('127.0.0.1', port)).toBe(true)
    const listener = await listenerOn(port)
    expect(listener?.port).toBe(port)
    if (onLinux) {
      expect(listener?.pid).toBe(process.pid)
      expect(listener?.command).toMatch(/node/)
    }
    const closed = await freePort()
    expect(await answers('127.0.0.1', closed)).toBe(false)
    expect(await listenerOn(closed)).toBeUndefined()
  })
})

describe('a broker this script did not start', () => {
  it('is named by status, with its port and pid, instead of "not running"', async () => {
    const { port } = await listen()
    const layout = { runtimeDir: tempDir(), port }
    const inspection = await inspectKafka('single', layout)
    expect(inspection).toMatchObject({ ours: false, foreign: true })
    expect(inspection.nodes[0]?.ownPid).toBeUndefined()
    const status = await describeKafka('single', layout)
    expect(status.running).toBe(false)
    expect(status.foreign).toBe(true)
    expect(status.text).toContain(`a broker that this script did not start answers on 127.0.0.1:${port}`)
    expect(status.text).toContain(onLinux ? `(pid ${process.pid}: ` : '(pid unknown)')
    expect(status.text).toContain(`KAFKA_BROKERS=127.0.0.1:${port}`)
  })

  it('is named when it holds only the controller port', async () => {
    const broker = await freePort()
    const layout = { runtimeDir: tempDir(), port: broker }
    let controller: number | undefined
    try {
      controller = (await listen(broker + 1)).port
    } catch {
      return // the neighbouring port is taken by something else: nothing to learn here
    }
    const status = await describeKafka('single', layout)
    expect(status.text).toContain(`a process that this script did not start listens on controller port 127.0.0.1:${controller}`)
    expect(status.text).not.toContain('KAFKA_BROKERS=')
  })

  it('makes start refuse before it formats, spawns or writes anything', async () => {
    const { port } = await listen()
    const runtimeDir = tempDir()
    const started = Date.now()
    const error = await startKafka('single', { runtimeDir, port, timeoutMs: 5000 }).then(
      () => undefined,
      (err: unknown) => err
    )
    expect(error).toBeInstanceOf(ForeignKafkaError)
    expect((error as ForeignKafkaError).message).toContain(`a broker that this script did not start answers on 127.0.0.1:${port}`)
    expect((error as ForeignKafkaError).listeners.map((l) => l.port)).toContain(port)
    expect(Date.now() - started).toBeLessThan(4000)
    expect(existsSync(join(runtimeDir, `single-${port}`))).toBe(false)
  })

  it('a pid file naming a live process that is not our java is not ours', async () => {
    const port = await freePort()
    const layout = { runtimeDir: tempDir(), port }
    const [node] = nodesOf('single', layout)
    if (node === undefined) throw new Error('no node')
    mkdirSync(node.dir, { recursive: true })
    writeFileSync(join(node.dir, 'kafka.pid'), String(process.pid))
    const status = await describeKafka('single', layout)
    expect(onLinux ? status : { ...status, text: 'not running' }).toEqual({ running: false, foreign: false, text: 'not running' })
  })
})

describe('waiting for our own broker', () => {
  it('fails at once, naming the exit, when our process exits before the cluster is ready', async () => {
    const child = spawn(process.execPath, ['-e', 'process.exit(3)'], { stdio: 'ignore' })
    const exits = watchExits([{ name: 'our Kafka node 1', child }])
    const started = Date.now()
    const error = await waitUntilReady([`127.0.0.1:${await freePort()}`], 30_000, 1, { stopIf: exits.exited }).then(
      () => undefined,
      (err: unknown) => err
    )
    expect(error).toBeInstanceOf(KafkaExitedError)
    expect((error as Error).message).toBe(`our Kafka node 1 (pid ${String(child.pid)}) exited with code 3 before it was ready`)
    expect(Date.now() - started).toBeLessThan(10_000)
  })

  it('names a process that could not run at all', async () => {
    const child = spawn(join(tempDir(), 'no-such-java'), [], { stdio: 'ignore' })
    const exits = watchExits([{ name: 'our Kafka node 1', child }])
    await expect(waitUntilReady([`127.0.0.1:${await freePort()}`], 30_000, 1, { stopIf: exits.exited })).rejects.toThrow(
      /our Kafka node 1 could not run: .*ENOENT/
    )
  })
})
