/**
 * A real Apache Kafka (KRaft) for development and tests, run from Maven Central jars: no Docker.
 *
 * One combined broker+controller on 127.0.0.1:9092 (controller 9093; another pair with `port`), or
 * three nodes on 127.0.0.1:19092/29092/39092. Jars are resolved once into .cache/kafka/<version>/lib;
 * data, logs and pids live in .runtime/kafka/<mode>/ (`single-<port>` for another port; both
 * git-ignored). Only processes whose pid files we wrote are ever stopped.
 *
 * Ours or not: a node is ours when its pid file names a live java running our server.properties
 * and, where /proc tells, that java holds the port. Anything else answering on a node's ports is a
 * foreign listener: `startKafka` refuses to start (or to report ready) next to one, instead of
 * taking another clone's broker for its own, and `describeKafka` names it.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync, openSync, closeSync, readdirSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { Admin } from '@platformatic/kafka'
import { listenerOn, type PortListener } from './listeners.ts'

export const KAFKA_VERSION = '4.2.0'
const root = resolve(import.meta.dirname, '../..')
const cacheDir = join(root, '.cache/kafka', KAFKA_VERSION)
const libDir = join(cacheDir, 'lib')
const runtimeRoot = join(root, '.runtime/kafka')

export type ClusterMode = 'single' | 'cluster'

/** Where a local cluster lives. */
export interface KafkaLayout {
  /** Broker port of the single node; its controller listens on port + 1. Default 9092. Not for the 3-node cluster. */
  readonly port?: number
  /** Folder of data, logs and pid files. Default .runtime/kafka in the repository. */
  readonly runtimeDir?: string
}

/** Broker port of the single node when none is given. */
export const DEFAULT_KAFKA_PORT = 9092

/** One node of a local cluster: its ports and folders. */
export interface KafkaNode {
  id: number
  brokerPort: number
  controllerPort: number
  dir: string
}

/** Describes the local cluster of a mode (1 or 3 nodes). */
export function nodesOf(mode: ClusterMode, layout: KafkaLayout = {}): KafkaNode[] {
  const dir = layout.runtimeDir ?? runtimeRoot
  if (mode === 'single') {
    const port = layout.port ?? DEFAULT_KAFKA_PORT
    if (!Number.isInteger(port) || port < 1 || port > 65534) throw new TypeError(`kafka: port must be an integer from 1 to 65534, got ${String(layout.port)}`)
    return [{ id: 1, brokerPort: port, controllerPort: port + 1, dir: join(dir, port === DEFAULT_KAFKA_PORT ? 'single' : `single-${port}`) }]
  }
  if (layout.port !== undefined) throw new TypeError('kafka: a port can be chosen for the single node only, not for the 3-node cluster')
  return [1, 2, 3].map((id) => ({ id, brokerPort: id * 10000 + 9092, controllerPort: id * 10000 + 9093, dir: join(dir, 'cluster', `node-${id}`) }))
}

/** `host:port` list of a mode's brokers. */
export function bootstrapOf(mode: ClusterMode, layout: KafkaLayout = {}): string[] {
  return nodesOf(mode, layout).map((n) => `127.0.0.1:${n.brokerPort}`)
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
  const result = spawnSync(
    'mvn',
    ['-B', '-q', '-f', join(import.meta.dirname, 'pom.xml'), 'dependency:copy-dependencies', '-DincludeScope=runtime', `-DoutputDirectory=${libDir}`],
    { stdio: ['ignore', 'inherit', 'inherit'] }
  )
  if (result.error) throw new Error(`cannot run mvn (is Maven installed?): ${result.error.message}`)
  if (result.status !== 0) throw new Error(`mvn dependency:copy-dependencies failed with exit code ${String(result.status)}`)
  if (!readdirSync(libDir).some((f) => f.startsWith('kafka_2.13-'))) throw new Error(`no kafka_2.13 jar in ${libDir}`)
  writeFileSync(marker, new Date().toISOString())
  return libDir
}

function serverProperties(mode: ClusterMode, node: KafkaNode, layout: KafkaLayout): string {
  const replication = mode === 'single' ? 1 : 3
  const minIsr = mode === 'single' ? 1 : 2
  const quorum =
    mode === 'single'
      ? `controller.quorum.bootstrap.servers=127.0.0.1:${node.controllerPort}`
      : `controller.quorum.voters=${nodesOf('cluster', layout)
          .map((n) => `${n.id}@127.0.0.1:${n.controllerPort}`)
          .join(',')}`
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
  // The pid may have been reused by an unrelated process: check that it is our java, started with
  // this node's server.properties (not only a path that starts like it).
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')
    if (!cmdline.includes('kafka.Kafka') || !cmdline.includes(join(node.dir, 'server.properties'))) return undefined
  } catch {
    // No /proc (not Linux): trust the pid file.
  }
  return pid
}

/** Whether every node of the mode has a live process we started. */
export function isRunning(mode: ClusterMode, layout: KafkaLayout = {}): boolean {
  return nodesOf(mode, layout).every((n) => pidOf(n) !== undefined)
}

/** The cluster id our storage was formatted with (data/meta.properties), if formatted. */
export function clusterIdOf(node: KafkaNode): string | undefined {
  try {
    return /^cluster\.id=(.+)$/m.exec(readFileSync(join(node.dir, 'data', 'meta.properties'), 'utf8'))?.[1]?.trim()
  } catch {
    return undefined
  }
}

/** A node of the local cluster: whether our broker runs, and what else holds its ports. */
export interface NodeInspection {
  readonly node: KafkaNode
  /** Pid of the java this script started for the node, when alive. */
  readonly ownPid: number | undefined
  /** Processes this script did not start that listen on the node's broker or controller port. */
  readonly foreign: readonly PortListener[]
}

/** What runs on the ports of a mode's nodes. */
export interface KafkaInspection {
  readonly nodes: readonly NodeInspection[]
  /** Every node has our live process, and no port is held by another. */
  readonly ours: boolean
  /** Some port of the mode is held by a process this script did not start. */
  readonly foreign: boolean
}

/** Looks at each node's pid file and at who answers on its ports. Starts and stops nothing. */
export async function inspectKafka(mode: ClusterMode, layout: KafkaLayout = {}): Promise<KafkaInspection> {
  const nodes = await Promise.all(
    nodesOf(mode, layout).map(async (node): Promise<NodeInspection> => {
      const ownPid = pidOf(node)
      const listeners = await Promise.all([node.brokerPort, node.controllerPort].map((port) => listenerOn(port)))
      // Ours answers as our pid; with our java alive and the listener unknown (no /proc), trust the pid file.
      const foreign = listeners.filter((l): l is PortListener => l !== undefined && (ownPid === undefined || (l.pid !== undefined && l.pid !== ownPid)))
      return { node, ownPid, foreign }
    })
  )
  return { nodes, ours: nodes.every((n) => n.ownPid !== undefined && n.foreign.length === 0), foreign: nodes.some((n) => n.foreign.length > 0) }
}

/** Thrown by `startKafka` when a process it did not start holds one of its ports. */
export class ForeignKafkaError extends Error {
  readonly code = 'KAFKA_PORT_HELD_BY_ANOTHER_PROCESS'
  readonly listeners: readonly PortListener[]
  constructor(message: string, listeners: readonly PortListener[]) {
    super(message)
    this.name = 'ForeignKafkaError'
    this.listeners = listeners
  }
}

/** Thrown by `startKafka` when a java it started exits before the cluster is ready. */
export class KafkaExitedError extends Error {
  readonly code = 'KAFKA_EXITED_BEFORE_READY'
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'KafkaExitedError'
  }
}

/**
 * One line per foreign listener of `inspection`, e.g. `a broker that this script did not start
 * answers on 127.0.0.1:9092 (pid 123: java … kafka.Kafka /x/server.properties)`, and what to do.
 */
export function describeForeign(inspection: KafkaInspection): string {
  const lines: string[] = []
  for (const { node, foreign } of inspection.nodes) {
    const broker = foreign.find((l) => l.port === node.brokerPort)
    const controller = foreign.find((l) => l.port === node.controllerPort)
    const who = (l: PortListener) => (l.pid === undefined ? 'pid unknown' : `pid ${l.pid}${l.command === undefined ? '' : `: ${l.command}`}`)
    if (broker !== undefined) lines.push(`a broker that this script did not start answers on 127.0.0.1:${broker.port} (${who(broker)})`)
    if (controller !== undefined) {
      lines.push(
        broker !== undefined && broker.pid !== undefined && controller.pid === broker.pid
          ? `  and holds our controller port 127.0.0.1:${controller.port}`
          : `a process that this script did not start listens on controller port 127.0.0.1:${controller.port} (${who(controller)})`
      )
    }
  }
  const broker = inspection.nodes.find((n) => n.foreign.some((l) => l.port === n.node.brokerPort))?.node.brokerPort
  const hint = [
    ...(broker === undefined ? [] : [`to use that broker set KAFKA_BROKERS=127.0.0.1:${broker}`]),
    'to run ours beside it pick other ports with --port <n> (or KAFKA_PORT=<n>)',
    'or stop the other one where it was started'
  ]
  return `${lines.join('\n')}\n(${hint.join('; ')})`
}

/** The status line of `npm run kafka -- status`, and whether our cluster runs. */
export async function describeKafka(mode: ClusterMode, layout: KafkaLayout = {}): Promise<{ running: boolean; foreign: boolean; text: string }> {
  const inspection = await inspectKafka(mode, layout)
  const at = bootstrapOf(mode, layout).join(',')
  if (inspection.foreign) {
    const ours = inspection.nodes.filter((n) => n.ownPid !== undefined)
    const own =
      ours.length === 0 ? 'not running (no broker of ours)' : `our node(s) ${ours.map((n) => `${n.node.id} (pid ${String(n.ownPid)})`).join(', ')} run, but`
    return { running: false, foreign: true, text: `${own}: ${describeForeign(inspection)}` }
  }
  if (inspection.ours) {
    return { running: true, foreign: false, text: `running at ${at} (pid ${inspection.nodes.map((n) => String(n.ownPid)).join(', ')})` }
  }
  const partial = inspection.nodes.filter((n) => n.ownPid !== undefined)
  if (partial.length > 0) return { running: false, foreign: false, text: `partly running: ${partial.length} of ${inspection.nodes.length} node(s) up` }
  return { running: false, foreign: false, text: 'not running' }
}

function java(args: string[], options: { heap: string; logFile?: string }): ReturnType<typeof spawn> {
  const out = options.logFile === undefined ? 'ignore' : openSync(options.logFile, 'a')
  const child = spawn(
    'java',
    [
      `-Xms${options.heap}`,
      `-Xmx${options.heap}`,
      '-XX:+UseG1GC',
      '-XX:MaxGCPauseMillis=20',
      '-Djava.awt.headless=true',
      `-Dlog4j2.configurationFile=${join(import.meta.dirname, 'log4j2.properties')}`,
      '-cp',
      `${libDir}/*`,
      ...args
    ],
    { detached: true, stdio: ['ignore', out, out] }
  )
  if (typeof out === 'number') closeSync(out)
  return child
}

function format(mode: ClusterMode, node: KafkaNode, clusterId: string): void {
  const args = [
    '-Xmx256m',
    `-Dlog4j2.configurationFile=${join(import.meta.dirname, 'log4j2.properties')}`,
    '-cp',
    `${libDir}/*`,
    'kafka.tools.StorageTool',
    'format',
    '-t',
    clusterId,
    '-c',
    join(node.dir, 'server.properties')
  ]
  if (mode === 'single') args.push('--standalone')
  const result = spawnSync('java', args, { encoding: 'utf8' })
  if (result.status !== 0) throw new Error(`formatting KRaft storage of node ${node.id} failed:\n${result.stdout}\n${result.stderr}`)
}

function randomClusterId(): string {
  const result = spawnSync('java', ['-Xmx128m', '-cp', `${libDir}/*`, 'kafka.tools.StorageTool', 'random-uuid'], { encoding: 'utf8' })
  if (result.status !== 0) throw new Error(`StorageTool random-uuid failed: ${result.stderr}`)
  return result.stdout.trim()
}

/** What `waitUntilReady` checks besides the broker count. */
export interface ReadyChecks {
  /** The cluster id the brokers must report: a broker of another cluster on the port is not ready. */
  readonly clusterId?: string | undefined
  /** Called between attempts: a message stops the wait at once with `KafkaExitedError`. */
  readonly stopIf?: () => string | undefined
}

/** Waits until the brokers answer a metadata request that lists all nodes (of the expected cluster). */
export async function waitUntilReady(brokers: string[], timeoutMs: number, expectedNodes = brokers.length, checks: ReadyChecks = {}): Promise<void> {
  const deadline = Date.now() + timeoutMs
  let lastError: unknown
  while (Date.now() < deadline) {
    const stop = checks.stopIf?.()
    if (stop !== undefined) throw new KafkaExitedError(stop)
    const admin = new Admin({ clientId: 'runnel-dev-ready', bootstrapBrokers: brokers, retries: 0, connectTimeout: 1000, timeout: 2000 })
    try {
      const metadata = await admin.metadata({ topics: [] })
      if (checks.clusterId !== undefined && metadata.id !== checks.clusterId) {
        lastError = new Error(`the broker answering is of cluster ${metadata.id}, ours is ${checks.clusterId}`)
      } else if (metadata.brokers.size >= expectedNodes) {
        return
      } else {
        lastError = new Error(`${metadata.brokers.size} of ${expectedNodes} brokers up`)
      }
    } catch (err) {
      lastError = err
    } finally {
      await admin.close().catch(() => undefined)
    }
    await sleep(500)
  }
  const stop = checks.stopIf?.()
  if (stop !== undefined) throw new KafkaExitedError(stop)
  throw new Error(`Kafka at ${brokers.join(',')} not ready after ${timeoutMs} ms: ${String(lastError)}`)
}

/**
 * Watches children that must stay alive: `exited()` names the first that exited (or failed to
 * spawn), with its exit code or signal.
 */
export function watchExits(children: readonly { name: string; child: ChildProcess }[]): { exited(): string | undefined } {
  let first: string | undefined
  for (const { name, child } of children) {
    child.once('exit', (code, signal) => {
      first ??= `${name} (pid ${String(child.pid)}) exited with ${signal === null ? `code ${String(code)}` : `signal ${signal}`} before it was ready`
    })
    child.once('error', (err) => {
      first ??= `${name} could not run: ${err.message}`
    })
  }
  return { exited: () => first }
}

/**
 * Starts the local cluster of `mode` unless it already runs (then nothing happens). Returns the
 * bootstrap brokers and whether this call started it.
 *
 * Rejects with `ForeignKafkaError`, before starting anything, when a process it did not start holds
 * a port of the mode; with `KafkaExitedError` when a java it started exits before the cluster is
 * ready (e.g. a port taken meanwhile): never "ready" because some other broker answers.
 */
export async function startKafka(mode: ClusterMode, options: { timeoutMs?: number } & KafkaLayout = {}): Promise<{ brokers: string[]; started: boolean }> {
  const layout: KafkaLayout = {
    ...(options.port === undefined ? {} : { port: options.port }),
    ...(options.runtimeDir === undefined ? {} : { runtimeDir: options.runtimeDir })
  }
  const brokers = bootstrapOf(mode, layout)
  const nodes = nodesOf(mode, layout)
  const inspection = await inspectKafka(mode, layout)
  if (inspection.foreign) {
    const listeners = inspection.nodes.flatMap((n) => n.foreign)
    throw new ForeignKafkaError(describeForeign(inspection), listeners)
  }
  if (inspection.ours) {
    await waitUntilReady(brokers, options.timeoutMs ?? 60_000, nodes.length, { clusterId: nodes[0] === undefined ? undefined : clusterIdOf(nodes[0]) })
    return { brokers, started: false }
  }
  if (inspection.nodes.some((n) => n.ownPid !== undefined)) await stopKafka(mode, layout)
  ensureJars()
  const formatted = nodes.every((n) => existsSync(join(n.dir, 'data', 'meta.properties')))
  if (!formatted) {
    const clusterId = randomClusterId()
    for (const node of nodes) {
      rmSync(node.dir, { recursive: true, force: true })
      mkdirSync(node.dir, { recursive: true })
      writeFileSync(join(node.dir, 'server.properties'), serverProperties(mode, node, layout))
      format(mode, node, clusterId)
    }
  }
  log(`starting ${nodes.length === 1 ? 'a single broker+controller' : `${nodes.length} nodes`} (Apache Kafka ${KAFKA_VERSION})`)
  const children: { name: string; child: ChildProcess }[] = []
  for (const node of nodes) {
    const child = java(['kafka.Kafka', join(node.dir, 'server.properties')], { heap: mode === 'single' ? '1g' : '512m', logFile: join(node.dir, 'kafka.log') })
    children.push({ name: `our Kafka node ${node.id}`, child })
    if (child.pid === undefined) continue // the 'error' event names the failure
    writeFileSync(join(node.dir, 'kafka.pid'), String(child.pid))
    child.unref()
  }
  const exits = watchExits(children)
  const clusterId = nodes[0] === undefined ? undefined : clusterIdOf(nodes[0])
  try {
    await waitUntilReady(brokers, options.timeoutMs ?? 120_000, nodes.length, { clusterId, stopIf: exits.exited })
  } catch (err) {
    const tails = nodes.map((n) => `--- node ${n.id} (${join(n.dir, 'kafka.log')}):\n${tail(join(n.dir, 'kafka.log'), 30)}`).join('\n')
    await stopKafka(mode, layout)
    const message = `${(err as Error).message}\n${tails}`
    throw err instanceof KafkaExitedError ? new KafkaExitedError(message, { cause: err }) : new Error(message, { cause: err })
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
export async function stopKafka(mode: ClusterMode, options: { timeoutMs?: number } & KafkaLayout = {}): Promise<boolean> {
  const running = nodesOf(mode, options)
    .map((n) => ({ node: n, pid: pidOf(n) }))
    .filter((r) => r.pid !== undefined)
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

/**
 * Starts one stopped node of the running cluster again (failure tests) and waits until the cluster
 * answers with all its nodes.
 */
export async function startNode(mode: ClusterMode, nodeId: number, timeoutMs = 120_000): Promise<void> {
  const nodes = nodesOf(mode)
  const node = nodes.find((n) => n.id === nodeId)
  if (node === undefined) throw new Error(`no node ${nodeId} in mode ${mode}`)
  if (alive(pidOf(node))) return
  const child = java(['kafka.Kafka', join(node.dir, 'server.properties')], { heap: mode === 'single' ? '1g' : '512m', logFile: join(node.dir, 'kafka.log') })
  if (child.pid !== undefined) writeFileSync(join(node.dir, 'kafka.pid'), String(child.pid))
  child.unref()
  const exits = watchExits([{ name: `our Kafka node ${node.id}`, child }])
  await waitUntilReady(bootstrapOf(mode), timeoutMs, nodes.length, { stopIf: exits.exited })
}

/** Stops the cluster and deletes its data. */
export async function resetKafka(mode: ClusterMode, layout: KafkaLayout = {}): Promise<void> {
  await stopKafka(mode, layout)
  rmSync(mode === 'single' ? (nodesOf('single', layout)[0]?.dir ?? '') : join(layout.runtimeDir ?? runtimeRoot, 'cluster'), { recursive: true, force: true })
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
