/**
 * A real Apache Kafka (KRaft) for development and tests, run from Maven Central jars: no Docker.
 *
 * One combined broker+controller on 127.0.0.1:9092, or three nodes on 127.0.0.1:19092/29092/39092.
 * Jars are resolved once into .cache/kafka/<version>/lib; data, logs and pids live in
 * .runtime/kafka/<mode>/ (both git-ignored). Only processes whose pid files we wrote are ever stopped.
 */
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync, openSync, closeSync, readdirSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { Admin } from '@platformatic/kafka'

export const KAFKA_VERSION = '4.2.0'
const root = resolve(import.meta.dirname, '../..')
const cacheDir = join(root, '.cache/kafka', KAFKA_VERSION)
const libDir = join(cacheDir, 'lib')
const runtimeRoot = join(root, '.runtime/kafka')

export type ClusterMode = 'single' | 'cluster'

/** One node of a local cluster: its ports and folders. */
export interface KafkaNode {
  id: number
  brokerPort: number
  controllerPort: number
  dir: string
}

/** Describes the local cluster of a mode (1 or 3 nodes). */
export function nodesOf(mode: ClusterMode): KafkaNode[] {
  if (mode === 'single') return [{ id: 1, brokerPort: 9092, controllerPort: 9093, dir: join(runtimeRoot, 'single') }]
  return [1, 2, 3].map((id) => ({ id, brokerPort: id * 10000 + 9092, controllerPort: id * 10000 + 9093, dir: join(runtimeRoot, 'cluster', `node-${id}`) }))
}

/** `host:port` list of a mode's brokers. */
export function bootstrapOf(mode: ClusterMode): string[] {
  return nodesOf(mode).map((n) => `127.0.0.1:${n.brokerPort}`)
}

function log(message: string): void {
  process.stderr.write(`kafka: ${message}\n`)
}

/** Resolves the broker jars from Maven Central into the cache, once. */
export function ensureJars(): string {
  const marker = join(libDir, '.complete')
  if (existsSync(marker)) return libDir
  log(`resolving Apache Kafka ${KAFKA_VERSION} jars from Maven Central (once) into .cache/kafka`)
  rmSync(libDir, { recursive: true, force: true })
  const result = spawnSync('mvn', ['-B', '-q', '-f', join(import.meta.dirname, 'pom.xml'), 'dependency:copy-dependencies',
    '-DincludeScope=runtime', `-DoutputDirectory=${libDir}`], { stdio: ['ignore', 'inherit', 'inherit'] })
  if (result.error) throw new Error(`cannot run mvn (is Maven installed?): ${result.error.message}`)
  if (result.status !== 0) throw new Error(`mvn dependency:copy-dependencies failed with exit code ${String(result.status)}`)
  if (!readdirSync(libDir).some((f) => f.startsWith('kafka_2.13-'))) throw new Error(`no kafka_2.13 jar in ${libDir}`)
  writeFileSync(marker, new Date().toISOString())
  return libDir
}

function serverProperties(mode: ClusterMode, node: KafkaNode): string {
  const replication = mode === 'single' ? 1 : 3
  const minIsr = mode === 'single' ? 1 : 2
  const quorum = mode === 'single'
    ? `controller.quorum.bootstrap.servers=127.0.0.1:${node.controllerPort}`
    : `controller.quorum.voters=${nodesOf('cluster').map((n) => `${n.id}@127.0.0.1:${n.controllerPort}`).join(',')}`
  return [
    'process.roles=broker,controller',
    `node.id=${node.id}`,
    quorum,
    `listeners=PLAINTEXT://127.0.0.1:${node.brokerPort},CONTROLLER://127.0.0.1:${node.controllerPort}`,
    `advertised.listeners=PLAINTEXT://127.0.0.1:${node.brokerPort},CONTROLLER://127.0.0.1:${node.controllerPort}`,
    'inter.broker.listener.name=PLAINTEXT',
    'controller.listener.names=CONTROLLER',
    'listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
    `log.dirs=${join(node.dir, 'data')}`,
    'num.partitions=1',
    `default.replication.factor=${replication}`,
    `min.insync.replicas=${minIsr}`,
    `offsets.topic.replication.factor=${replication}`,
    'offsets.topic.num.partitions=6',
    `transaction.state.log.replication.factor=${replication}`,
    `transaction.state.log.min.isr=${minIsr}`,
    'transaction.state.log.num.partitions=6',
    `share.coordinator.state.topic.replication.factor=${replication}`,
    `share.coordinator.state.topic.min.isr=${minIsr}`,
    'group.initial.rebalance.delay.ms=0',
    // Tests kill workers and wait for the group to notice: allow short session timeouts.
    'group.min.session.timeout.ms=1000',
    'group.consumer.min.session.timeout.ms=1000',
    'group.consumer.min.heartbeat.interval.ms=500',
    // A killed node is fenced within seconds, so its partitions get new leaders quickly.
    'broker.session.timeout.ms=4000',
    'broker.heartbeat.interval.ms=500',
    // Compaction that tests can observe within seconds.
    'log.cleaner.backoff.ms=1000',
    ''
  ].join('\n')
}

function pidOf(node: KafkaNode): number | undefined {
  const file = join(node.dir, 'kafka.pid')
  if (!existsSync(file)) return undefined
  const pid = Number(readFileSync(file, 'utf8').trim())
  if (!Number.isInteger(pid) || pid <= 0) return undefined
  try {
    process.kill(pid, 0)
  } catch {
    return undefined
  }
  // The pid may have been reused by an unrelated process: check that it is our java.
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8')
    if (!cmdline.includes('kafka.Kafka') || !cmdline.includes(node.dir)) return undefined
  } catch {
    // No /proc (not Linux): trust the pid file.
  }
  return pid
}

/** Whether every node of the mode has a live process we started. */
export function isRunning(mode: ClusterMode): boolean {
  return nodesOf(mode).every((n) => pidOf(n) !== undefined)
}

function java(args: string[], options: { heap: string, logFile?: string }): ReturnType<typeof spawn> {
  const out = options.logFile === undefined ? 'ignore' : openSync(options.logFile, 'a')
  const child = spawn('java', [`-Xms${options.heap}`, `-Xmx${options.heap}`, '-XX:+UseG1GC', '-XX:MaxGCPauseMillis=20',
    '-Djava.awt.headless=true', `-Dlog4j2.configurationFile=${join(import.meta.dirname, 'log4j2.properties')}`,
    '-cp', `${libDir}/*`, ...args], { detached: true, stdio: ['ignore', out, out] })
  if (typeof out === 'number') closeSync(out)
  return child
}

function format(mode: ClusterMode, node: KafkaNode, clusterId: string): void {
  const args = ['-Xmx256m', `-Dlog4j2.configurationFile=${join(import.meta.dirname, 'log4j2.properties')}`, '-cp', `${libDir}/*`,
    'kafka.tools.StorageTool', 'format', '-t', clusterId, '-c', join(node.dir, 'server.properties')]
  if (mode === 'single') args.push('--standalone')
  const result = spawnSync('java', args, { encoding: 'utf8' })
  if (result.status !== 0) throw new Error(`formatting KRaft storage of node ${node.id} failed:\n${result.stdout}\n${result.stderr}`)
}

function randomClusterId(): string {
  const result = spawnSync('java', ['-Xmx128m', '-cp', `${libDir}/*`, 'kafka.tools.StorageTool', 'random-uuid'], { encoding: 'utf8' })
  if (result.status !== 0) throw new Error(`StorageTool random-uuid failed: ${result.stderr}`)
  return result.stdout.trim()
}

/** Waits until the brokers answer a metadata request that lists all nodes. */
export async function waitUntilReady(brokers: string[], timeoutMs: number, expectedNodes = brokers.length): Promise<void> {
  const deadline = Date.now() + timeoutMs
  let lastError: unknown
  while (Date.now() < deadline) {
    const admin = new Admin({ clientId: 'runnel-dev-ready', bootstrapBrokers: brokers, retries: 0, connectTimeout: 1000, timeout: 2000 })
    try {
      const metadata = await admin.metadata({ topics: [] })
      if (metadata.brokers.size >= expectedNodes) return
      lastError = new Error(`${metadata.brokers.size} of ${expectedNodes} brokers up`)
    } catch (err) {
      lastError = err
    } finally {
      await admin.close().catch(() => undefined)
    }
    await sleep(500)
  }
  throw new Error(`Kafka at ${brokers.join(',')} not ready after ${timeoutMs} ms: ${String(lastError)}`)
}

/**
 * Starts the local cluster of `mode` unless it already runs (then nothing happens). Returns the
 * bootstrap brokers and whether this call started it.
 */
export async function startKafka(mode: ClusterMode, options: { timeoutMs?: number } = {}): Promise<{ brokers: string[], started: boolean }> {
  const brokers = bootstrapOf(mode)
  const nodes = nodesOf(mode)
  if (isRunning(mode)) {
    await waitUntilReady(brokers, options.timeoutMs ?? 60_000)
    return { brokers, started: false }
  }
  if (nodes.some((n) => pidOf(n) !== undefined)) await stopKafka(mode)
  ensureJars()
  const formatted = nodes.every((n) => existsSync(join(n.dir, 'data', 'meta.properties')))
  if (!formatted) {
    const clusterId = randomClusterId()
    for (const node of nodes) {
      rmSync(node.dir, { recursive: true, force: true })
      mkdirSync(node.dir, { recursive: true })
      writeFileSync(join(node.dir, 'server.properties'), serverProperties(mode, node))
      format(mode, node, clusterId)
    }
  }
  log(`starting ${nodes.length === 1 ? 'a single broker+controller' : `${nodes.length} nodes`} (Apache Kafka ${KAFKA_VERSION})`)
  for (const node of nodes) {
    const child = java(['kafka.Kafka', join(node.dir, 'server.properties')], { heap: mode === 'single' ? '1g' : '512m', logFile: join(node.dir, 'kafka.log') })
    if (child.pid === undefined) throw new Error(`could not spawn java for node ${node.id}`)
    writeFileSync(join(node.dir, 'kafka.pid'), String(child.pid))
    child.unref()
  }
  try {
    await waitUntilReady(brokers, options.timeoutMs ?? 120_000)
  } catch (err) {
    const tails = nodes.map((n) => `--- node ${n.id} (${join(n.dir, 'kafka.log')}):\n${tail(join(n.dir, 'kafka.log'), 30)}`).join('\n')
    await stopKafka(mode)
    throw new Error(`${(err as Error).message}\n${tails}`, { cause: err })
  }
  log(`ready at ${brokers.join(',')}`)
  return { brokers, started: true }
}

function tail(file: string, lines: number): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n')
  } catch {
    return '(no log)'
  }
}

/** Stops the nodes of `mode` that we started: SIGTERM all together, SIGKILL after `timeoutMs`. */
export async function stopKafka(mode: ClusterMode, options: { timeoutMs?: number } = {}): Promise<boolean> {
  const running = nodesOf(mode).map((n) => ({ node: n, pid: pidOf(n) })).filter((r) => r.pid !== undefined)
  for (const { pid } of running) signal(pid, 'SIGTERM')
  const deadline = Date.now() + (options.timeoutMs ?? 30_000)
  while (running.some((r) => alive(r.pid)) && Date.now() < deadline) await sleep(200)
  for (const { pid } of running) if (alive(pid)) signal(pid, 'SIGKILL')
  for (const { node } of running) rmSync(join(node.dir, 'kafka.pid'), { force: true })
  if (running.length > 0) log(`stopped ${running.length} node(s)`)
  return running.length > 0
}

/** Stops one node of the 3-node cluster (failure tests). */
export async function stopNode(mode: ClusterMode, nodeId: number, how: 'SIGTERM' | 'SIGKILL' = 'SIGKILL'): Promise<void> {
  const node = nodesOf(mode).find((n) => n.id === nodeId)
  if (node === undefined) throw new Error(`no node ${nodeId} in mode ${mode}`)
  const pid = pidOf(node)
  if (pid === undefined) return
  signal(pid, how)
  const deadline = Date.now() + 30_000
  while (alive(pid) && Date.now() < deadline) await sleep(100)
  if (alive(pid)) signal(pid, 'SIGKILL')
  rmSync(join(node.dir, 'kafka.pid'), { force: true })
}

/** Stops the cluster and deletes its data. */
export async function resetKafka(mode: ClusterMode): Promise<void> {
  await stopKafka(mode)
  rmSync(mode === 'single' ? nodesOf('single')[0]?.dir ?? '' : join(runtimeRoot, 'cluster'), { recursive: true, force: true })
  log(`reset ${mode}: data deleted`)
}

function alive(pid: number | undefined): boolean {
  if (pid === undefined) return false
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

function signal(pid: number | undefined, sig: NodeJS.Signals): void {
  if (pid === undefined) return
  try {
    process.kill(pid, sig)
  } catch {
    // already gone
  }
}
