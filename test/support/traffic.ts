/**
 * Helpers of the traffic integration tests: a schema registry and unique topics per test (deleted
 * afterwards), deterministic input produced in slices, traffic worker processes (the real
 * `apps/worker.ts traffic`, or `test/fixtures/traffic-worker.ts` with a short session timeout and
 * status lines), the group's progress, and the comparison of the outputs with the reference.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Admin, ConfigResourceTypes, Producer } from '@platformatic/kafka'
import { expect } from 'vitest'
import {
  diffLatestValues,
  ensureTrafficTopics,
  groupHasConsumed,
  malformedBytes,
  readTopicToEnd,
  resolveTrafficSettings,
  trafficSerdes,
  type GeneratedRecord,
  type TrafficGeneratorOptions,
  type TrafficOutputs,
  type TrafficReferenceResult,
  type TrafficTopics
} from '../../apps/traffic/index.ts'
import { partitionForKey } from '../../processors/index.ts'
import { startRegistry, type RunningRegistry } from '../../registry/index.ts'
import type { InstanceStatus } from '../../runtime/index.ts'
import { DeadLetterHeaders, SchemaRegistryClient } from '../../schemas/index.ts'
import { uniqueName } from './kafka.ts'

/** Partitions of the traffic input and outputs in these tests (the worker's default). */
export const TRAFFIC_PARTITIONS = 6

/** Topics and application id of one deployment of the traffic app. */
export interface TrafficDeployment {
  readonly topics: TrafficTopics
  readonly applicationId: string
}

/**
 * What a traffic test file shares: the broker, a registry on its own `_schemas` topic, the topics
 * and state folders it creates. `close()` removes them all (each run writes tens of MB).
 */
export class TrafficTestEnv {
  readonly brokers: string[]
  readonly registry: RunningRegistry
  private readonly topicPrefixes: string[]
  private readonly folders: string[] = []

  private constructor(brokers: string[], registry: RunningRegistry, schemasTopic: string) {
    this.brokers = brokers
    this.registry = registry
    this.topicPrefixes = [schemasTopic]
  }

  /** Starts a registry on a free port, persisted in a topic of this test file. */
  static async start(brokers: string[], name: string): Promise<TrafficTestEnv> {
    const schemasTopic = uniqueName(`_schemas-${name}`)
    const registry = await startRegistry({ port: 0, brokers, topic: schemasTopic })
    return new TrafficTestEnv(brokers, registry, schemasTopic)
  }

  get registryUrl(): string {
    return this.registry.url
  }

  /** Unique topic names and application id (its internal topics share the prefix, so they are deleted too). */
  deployment(prefix: string): TrafficDeployment {
    const tag = uniqueName(prefix)
    this.topicPrefixes.push(tag)
    return {
      topics: { observations: `${tag}.observations`, stats1m: `${tag}.stats.1m`, stats5m: `${tag}.stats.5m`, sessions: `${tag}.traveler-sessions` },
      applicationId: `${tag}-app`
    }
  }

  /** Creates the deployment's input and outputs as the worker does (6 partitions, compacted outputs). */
  async createTopics(deployment: TrafficDeployment): Promise<void> {
    await ensureTrafficTopics(this.brokers, resolveTrafficSettings({ topics: deployment.topics }))
  }

  /** A fresh state folder, removed by `close()`. */
  stateDir(): string {
    const dir = mkdtempSync(join(tmpdir(), 'runnel-traffic-it-'))
    this.folders.push(dir)
    return dir
  }

  /** Stops the registry, removes the state folders and deletes every topic this file created. */
  async close(): Promise<void> {
    await this.registry.close()
    for (const dir of this.folders) rmSync(dir, { recursive: true, force: true })
    const admin = new Admin({ clientId: 'traffic-it-cleanup', bootstrapBrokers: this.brokers })
    try {
      const mine = (await admin.listTopics()).filter((t) => this.topicPrefixes.some((p) => t.startsWith(p)))
      if (mine.length > 0) await admin.deleteTopics({ topics: mine })
    } finally {
      await admin.close()
    }
  }
}

/**
 * Generator options with event time starting `hoursAgo` hours ago on a minute: recent enough for the
 * 7-day retention of the outputs (year-old records would be deleted by retention mid-run).
 */
export function trafficGenerator(seed: number, observations: number, hoursAgo = 3): TrafficGeneratorOptions {
  return {
    seed,
    sensors: 20,
    observations,
    startMs: Math.floor((Date.now() - hoursAgo * 3_600_000) / 60_000) * 60_000,
    lateFraction: 0.002,
    malformedFraction: 0.0005,
    occlusionFraction: 0.05,
    outOfOrderFraction: 0.01,
    duplicateFraction: 0.002
  }
}

/**
 * Produces generated records to the observations topic in the order given, the way the simulator
 * does (key = sensor id, Kafka timestamp = event time, Confluent-wire Avro, malformed records as
 * the generator describes them), so that several calls produce one dataset in slices. Idempotent and
 * one request at a time: each record is in the topic exactly once and every partition keeps the
 * generator's order (the reference relies on both).
 */
export class TrafficInputProducer {
  private readonly producer: Producer
  private readonly serde: ReturnType<typeof trafficSerdes>['observation']
  private readonly topic: string
  private configured = false
  /** Records sent so far, and how many of them were malformed. */
  sent = 0
  malformed = 0

  constructor(brokers: string[], registryUrl: string, topic: string) {
    this.producer = new Producer({ clientId: 'traffic-it-input', bootstrapBrokers: brokers, idempotent: true, autocreateTopics: false })
    this.serde = trafficSerdes(new SchemaRegistryClient({ url: registryUrl })).observation
    this.topic = topic
  }

  /** Sends `records` in batches of `batchSize`, in order. */
  async send(records: readonly GeneratedRecord[], batchSize = 2000): Promise<void> {
    if (!this.configured) {
      await this.serde.configure?.(this.topic, false)
      this.configured = true
    }
    for (let i = 0; i < records.length; i += batchSize) {
      const messages = records.slice(i, i + batchSize).map((record) => {
        const valid = this.serde.serialize(this.topic, record.value)
        const key = Buffer.from(record.key)
        return {
          topic: this.topic,
          key,
          partition: partitionForKey(key, TRAFFIC_PARTITIONS),
          timestamp: BigInt(record.value.timestamp),
          value: record.kind === 'malformed' ? malformedBytes(record.variant, valid, record.value) : valid
        }
      })
      await this.producer.send({ messages, acks: -1 })
      this.sent += messages.length
      this.malformed += records.slice(i, i + batchSize).filter((r) => r.kind === 'malformed').length
    }
  }

  async close(): Promise<void> {
    await this.producer.close()
  }
}

/**
 * How long a test waits for a worker process to exit after SIGTERM before it SIGKILLs it: longer
 * than the runtime's own close timeout (30 s), so that a close that takes too long ends as the
 * worker's exit code 2 with its reason in the output, not as a SIGKILL racing it.
 */
export const CLOSE_WAIT_MS = 45_000

/** Polls `check` every `intervalMs` until it returns true; throws after `timeoutMs` naming `what`. */
export async function waitUntil(what: string, check: () => Promise<boolean> | boolean, timeoutMs: number, intervalMs = 250): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, intervalMs))
  }
}

/** Whether group `groupId` has committed the log end of every partition of `topic` (`groupHasConsumed`). */
export async function groupConsumedAll(brokers: readonly string[], groupId: string, topic: string): Promise<boolean> {
  return groupHasConsumed(brokers, groupId, topic)
}

/** Whether the group is STABLE with exactly `members` members. */
export async function groupIsStable(brokers: readonly string[], groupId: string, members: number): Promise<boolean> {
  const admin = new Admin({ clientId: 'traffic-it-groups', bootstrapBrokers: [...brokers] })
  try {
    const group = (await admin.describeGroups({ groups: [groupId] })).get(groupId)
    return String(group?.state).toUpperCase() === 'STABLE' && group?.members.size === members
  } finally {
    await admin.close()
  }
}

/** Record counts of the outputs, for failure messages. */
function outputSummary(outputs: TrafficOutputs): string {
  const { records } = outputs
  return `${records.stats1m} 1m, ${records.stats5m} 5m, ${records.sessions} session records, ${outputs.sessionTombstones} tombstones`
}

/**
 * Compares the latest value per key of every output with the reference, naming the first differences
 * of each. With WORKER_LOG_DIR set, every difference is also written to <dir>/output-diff.txt.
 */
export function expectOutputsEqual(expected: TrafficReferenceResult, outputs: TrafficOutputs): void {
  const roles = ['stats1m', 'stats5m', 'sessions'] as const
  const diffs = roles.map((role) => diffLatestValues(expected[role] as Map<string, object>, outputs[role] as Map<string, object>, Number.MAX_SAFE_INTEGER))
  const logDir = process.env.WORKER_LOG_DIR
  if (logDir !== undefined)
    writeFileSync(join(logDir, 'output-diff.txt'), roles.map((role, i) => (diffs[i] ?? []).map((d) => `${role} ${d}\n`).join('')).join(''))
  const summary = roles
    .map((role, i) => {
      const diff = diffs[i] ?? []
      const kinds = ['missing', 'differs', 'unexpected'].map((kind) => `${diff.filter((d) => d.startsWith(kind)).length} ${kind}`).join(', ')
      return `${role}: ${kinds} of ${expected[role].size} keys`
    })
    .join('; ')
  for (const [i, role] of roles.entries()) {
    expect((diffs[i] ?? []).slice(0, 5), `${summary} (${outputSummary(outputs)})`).toEqual([])
    expect(outputs[role].size, role).toBe(expected[role].size)
  }
}

/** Late drops of the reference, summed over the three outputs (the runtime counts them the same way). */
export function lateTotal(expected: TrafficReferenceResult): number {
  return expected.lateDrops.stats1m + expected.lateDrops.stats5m + expected.lateDrops.sessions
}

/** Dead letters of the application (committed ones): one per malformed record, naming the input and a serde error. */
export async function expectDeadLetters(brokers: readonly string[], applicationId: string, topics: TrafficTopics, malformed: number): Promise<void> {
  const dead = await readTopicToEnd(brokers, `${applicationId}-dlq`)
  expect(dead).toHaveLength(malformed)
  const codes = new Set(dead.map((r) => r.headers.get(DeadLetterHeaders.ERROR_CODE)))
  expect([...codes].sort()).toEqual(['SERDE_AVRO_MAGIC_BYTE', 'SERDE_AVRO_MALFORMED', 'SERDE_AVRO_TRUNCATED'])
  expect(new Set(dead.map((r) => r.headers.get(DeadLetterHeaders.TOPIC)))).toEqual(new Set([topics.observations]))
}

/** The worker created the outputs compacted and deleted after 7 days, with 6 partitions. */
export async function expectOutputTopicConfigs(brokers: readonly string[], topics: TrafficTopics): Promise<void> {
  const admin = new Admin({ clientId: 'traffic-it-configs', bootstrapBrokers: [...brokers] })
  try {
    const outputs = [topics.stats1m, topics.stats5m, topics.sessions]
    const described = await admin.describeConfigs({
      resources: outputs.map((name) => ({
        resourceType: ConfigResourceTypes.TOPIC,
        resourceName: name,
        configurationKeys: ['cleanup.policy', 'retention.ms']
      }))
    })
    for (const name of outputs) {
      const configs = new Map(described.find((d) => d.resourceName === name)?.configs.map((c) => [c.name, c.value]))
      expect(configs.get('cleanup.policy'), name).toBe('compact,delete')
      expect(configs.get('retention.ms'), name).toBe(String(7 * 24 * 3_600_000))
    }
    const metadata = await admin.metadata({ topics: outputs, forceUpdate: true })
    for (const name of outputs) expect(metadata.topics.get(name)?.partitionsCount, name).toBe(TRAFFIC_PARTITIONS)
  } finally {
    await admin.close()
  }
}

/** A free TCP port on the loopback interface. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      const port = typeof address === 'object' && address !== null ? address.port : 0
      server.close(() => resolve(port))
    })
  })
}

/** Prometheus text of a worker as `name{labels} -> value` (labels without the default ones); empty when unreachable. */
export async function scrape(port: number): Promise<Map<string, number>> {
  const out = new Map<string, number>()
  let text: string
  try {
    text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()
  } catch {
    return out
  }
  for (const line of text.split('\n')) {
    const m = /^(\w+)(?:\{(.*)\})? (\S+)$/.exec(line)
    if (m === null) continue
    const labels = (m[2] ?? '')
      .split(',')
      .filter((l) => l !== '' && !l.startsWith('application_id=') && !l.startsWith('instance_id='))
      .join(',')
    out.set(labels === '' ? (m[1] as string) : `${m[1]}{${labels}}`, Number(m[3]))
  }
  return out
}

/** Sum of the series of `name` whose labels contain `labelFilter`. */
export function sumOf(metrics: Map<string, number>, name: string, labelFilter = ''): number {
  let sum = 0
  for (const [key, value] of metrics) if ((key === name || key.startsWith(`${name}{`)) && key.includes(labelFilter)) sum += value
  return sum
}

/** Which program a worker process runs. */
export const WorkerPrograms = {
  /** `node apps/worker.ts traffic`: the production worker (runtime defaults, e.g. a 45 s session timeout). */
  APP: 'app',
  /** `node test/fixtures/traffic-worker.ts`: the same worker with `SESSION_TIMEOUT_MS` and `STATUS <json>` lines on stdout. */
  FIXTURE: 'fixture'
} as const

/** One of `WorkerPrograms`. */
export type WorkerProgram = (typeof WorkerPrograms)[keyof typeof WorkerPrograms]

/**
 * A traffic worker child process, restartable with the same environment. `stop()` is SIGTERM (a
 * clean close) and waits for the exit; `kill()` is SIGKILL; `pause()`/`resume()` are SIGSTOP/SIGCONT.
 */
export class TrafficWorkerProcess {
  readonly name: string
  readonly env: Readonly<Record<string, string>>
  private readonly program: WorkerProgram
  private child: ChildProcess | undefined
  private exit: Promise<void> | undefined
  private tail = ''
  /** The last `STATUS` line of the current process (fixture only). */
  status: InstanceStatus | undefined
  /** Exit codes (or signal names) of the processes this object ran, in order. */
  readonly exits: string[] = []
  /** Called with every status line (fixture only). */
  onStatus: ((status: InstanceStatus) => void) | undefined

  constructor(name: string, program: WorkerProgram, env: Readonly<Record<string, string>>) {
    this.name = name
    this.program = program
    this.env = env
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null
  }

  get pid(): number | undefined {
    return this.child?.pid
  }

  start(): void {
    if (this.running) throw new Error(`worker ${this.name} is already running`)
    this.status = undefined
    const args =
      this.program === WorkerPrograms.APP
        ? [join(import.meta.dirname, '..', '..', 'apps', 'worker.ts'), 'traffic']
        : [join(import.meta.dirname, '..', 'fixtures', 'traffic-worker.ts')]
    const child = spawn(process.execPath, args, { env: { ...process.env, ...this.env }, stdio: ['ignore', 'pipe', 'pipe'] })
    // Debugging aid: WORKER_LOG_DIR keeps each worker's full log (with WORKER_LOG_LEVEL) in <dir>/<name>.log.
    const logDir = process.env.WORKER_LOG_DIR
    let buffered = ''
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      buffered += chunk
      let newline: number
      while ((newline = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, newline)
        buffered = buffered.slice(newline + 1)
        if (line.startsWith('STATUS ')) {
          const status = JSON.parse(line.slice(7)) as InstanceStatus
          this.status = status
          this.onStatus?.(status)
        } else {
          this.tail = `${this.tail}${line}\n`.slice(-4000)
          if (logDir !== undefined) appendFileSync(join(logDir, `${this.name}.log`), `${line}\n`)
        }
      }
    })
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      this.tail = (this.tail + chunk).slice(-4000)
      if (logDir !== undefined) appendFileSync(join(logDir, `${this.name}.log`), chunk)
    })
    this.exit = new Promise((resolve) =>
      child.once('exit', (code, signal) => {
        this.exits.push(signal ?? String(code))
        resolve()
      })
    )
    this.child = child
  }

  /** Fails when the process exited on its own (not through `stop()`/`kill()`). */
  assertAlive(): void {
    if (!this.running) throw new Error(`worker ${this.name} exited (${this.exits.at(-1) ?? 'never started'}): ${this.tail}`)
  }

  /** SIGTERM (resuming a paused process first); SIGKILL after `timeoutMs`. Resolves the exit code or signal. */
  async stop(timeoutMs = 60_000): Promise<string | undefined> {
    if (this.running) {
      this.child?.kill('SIGCONT')
      this.child?.kill('SIGTERM')
      const timer = setTimeout(() => this.child?.kill('SIGKILL'), timeoutMs)
      await this.exit
      clearTimeout(timer)
    }
    return this.exits.at(-1)
  }

  /** SIGKILL: no commit, no leave-group, the state folder left as it is. */
  async kill(): Promise<void> {
    if (!this.running) return
    this.child?.kill('SIGKILL')
    await this.exit
  }

  /** SIGSTOP: the process stops heartbeating and processing, holding whatever it has in flight. */
  pause(): void {
    this.child?.kill('SIGSTOP')
  }

  /** SIGCONT. */
  resume(): void {
    this.child?.kill('SIGCONT')
  }

  /** Recent output (logs), for failure messages. */
  get output(): string {
    return this.tail
  }

  /** Task ids running in the current process, per its last status line. */
  get runningTasks(): string[] {
    return (this.status?.tasks ?? []).filter((t) => t.phase === 'running').map((t) => t.id)
  }
}

/** The worker environment of a deployment (topics, application id, registry). */
export function workerEnv(env: TrafficTestEnv, deployment: TrafficDeployment, extra: Record<string, string>): Record<string, string> {
  const { topics } = deployment
  return {
    KAFKA_BROKERS: env.brokers.join(','),
    SCHEMA_REGISTRY_URL: env.registryUrl,
    APPLICATION_ID: deployment.applicationId,
    LOG_LEVEL: process.env.WORKER_LOG_LEVEL ?? 'error',
    TRAFFIC_OBSERVATIONS_TOPIC: topics.observations,
    TRAFFIC_STATS_1M_TOPIC: topics.stats1m,
    TRAFFIC_STATS_5M_TOPIC: topics.stats5m,
    TRAFFIC_SESSIONS_TOPIC: topics.sessions,
    ...extra
  }
}
