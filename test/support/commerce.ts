/**
 * Helpers of the commerce integration tests: unique deployments of the commerce app on the shared
 * test environment (registry, state folders), the seed's JSON produced by the real simulator, worker
 * processes (`apps/worker.ts commerce`, or `test/fixtures/commerce-worker.ts` with a short session
 * timeout and status lines), the group's progress over all its input topics, and the comparison of
 * the outputs and dead letters with the reference.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { appendFileSync } from 'node:fs'
import { join } from 'node:path'
import { Admin } from '@platformatic/kafka'
import { expect } from 'vitest'
import {
  BridgeErrorCodes,
  CATEGORY_REPARTITION,
  estimatedDurationMs,
  runCommerceSimulator,
  type CommerceGeneratorOptions,
  type CommerceOutputs,
  type CommerceReferenceResult,
  type CommerceSimulatorResult,
  type CommerceTopics
} from '../../apps/commerce/index.ts'
import { diffLatestValues, readTopicToEnd } from '../../apps/shared/index.ts'
import type { InstanceStatus } from '../../runtime/index.ts'
import { DeadLetterHeaders } from '../../schemas/index.ts'
import { uniqueName } from './kafka.ts'
import { groupConsumedAll, TrafficTestEnv, WorkerPrograms, type WorkerProgram } from './traffic.ts'

/** Partitions of every commerce topic in these tests (the worker's default). */
export const COMMERCE_PARTITIONS = 6

/** Topics and application id of one deployment of the commerce app. */
export interface CommerceDeployment {
  readonly topics: CommerceTopics
  readonly applicationId: string
  /** `<applicationId>-dlq`: typed records that break the contract, and records the runtime cannot deserialize. */
  readonly typedDeadLetterTopic: string
}

/**
 * What a commerce test file shares: the test environment of the traffic tests (broker, a registry on
 * its own `_schemas` topic, state folders) and the topics of its commerce deployments, all removed by
 * `close()`.
 */
export class CommerceTestEnv {
  readonly base: TrafficTestEnv
  private readonly tags: string[] = []

  private constructor(base: TrafficTestEnv) {
    this.base = base
  }

  static async start(brokers: string[], name: string): Promise<CommerceTestEnv> {
    return new CommerceTestEnv(await TrafficTestEnv.start(brokers, name))
  }

  get brokers(): string[] {
    return this.base.brokers
  }

  get registryUrl(): string {
    return this.base.registryUrl
  }

  /** Unique topic names and application id; every name starts with the deployment's tag (internal topics too). */
  deployment(prefix: string): CommerceDeployment {
    const tag = uniqueName(prefix)
    this.tags.push(tag)
    const applicationId = `${tag}-app`
    return {
      topics: {
        analytics: `${tag}.analytics`,
        analyticsDlq: `${tag}.analytics.dlq`,
        productSold: `${tag}.product-sold`,
        productRated: `${tag}.product-rated`,
        sales1h: `${tag}.sales.1h`,
        productRatings: `${tag}.product-ratings`,
        categoryRatings: `${tag}.category-ratings`
      },
      applicationId,
      typedDeadLetterTopic: `${applicationId}-dlq`
    }
  }

  stateDir(): string {
    return this.base.stateDir()
  }

  /** Deletes the deployments' topics (kept when KEEP_TEST_TOPICS=1, a debugging aid), then closes the shared environment. */
  async close(): Promise<void> {
    if (process.env.KEEP_TEST_TOPICS === '1') return this.base.close()
    const admin = new Admin({ clientId: 'commerce-it-cleanup', bootstrapBrokers: this.brokers })
    try {
      const mine = (await admin.listTopics()).filter((t) => this.tags.some((tag) => t.startsWith(tag)))
      if (mine.length > 0) await admin.deleteTopics({ topics: mine })
    } finally {
      await admin.close()
      await this.base.close()
    }
  }
}

/**
 * Generator options with event time starting `hoursAgo` hours ago on a minute (default: the run's
 * expected event-time span plus an hour, so that it ends before now: the broker refuses timestamps
 * more than an hour ahead), recent enough for the 2-day retention of the outputs and the 1-day
 * retention of the sales store up to a few hundred thousand events.
 */
export function commerceGenerator(
  seed: number,
  events: number,
  invalidFraction: number,
  hoursAgo = Math.ceil(estimatedDurationMs(events) / 3_600_000) + 1
): CommerceGeneratorOptions {
  return {
    seed,
    events,
    invalidFraction,
    products: 60,
    categories: 8,
    recategorizeFraction: 0.005,
    outOfOrderFraction: 0.02,
    lateFraction: 0.002,
    startMs: Math.floor((Date.now() - hoursAgo * 3_600_000) / 60_000) * 60_000
  }
}

/** Produces the model's events to the deployment's `analytics` as the seed's JSON, with the real simulator (keyed by product id). */
export async function produceSeedJson(
  env: CommerceTestEnv,
  deployment: CommerceDeployment,
  generator: CommerceGeneratorOptions,
  ratePerSecond = 0
): Promise<CommerceSimulatorResult> {
  const { topics } = deployment
  return runCommerceSimulator({
    brokers: env.brokers,
    registryUrl: env.registryUrl,
    format: 'seed-json',
    partitions: COMMERCE_PARTITIONS,
    generator,
    topics: { analytics: topics.analytics, productSold: topics.productSold, productRated: topics.productRated },
    ratePerSecond,
    batchSize: 5000,
    realtime: false,
    progress: null
  })
}

/** Every input topic of the group, in the order records flow: seed events, typed events, the category repartition. */
export function groupInputTopics(deployment: CommerceDeployment): string[] {
  const { topics, applicationId } = deployment
  return [topics.analytics, topics.productSold, topics.productRated, `${applicationId}-${CATEGORY_REPARTITION}-repartition`]
}

/**
 * Whether the group has committed the end of all its input topics. Checked in the order records flow
 * (a task's outputs are written before, or in the transaction of, its offsets), so once the seed
 * events are consumed the typed topics are complete, and so on.
 */
export async function groupConsumedEverything(brokers: readonly string[], deployment: CommerceDeployment): Promise<boolean> {
  for (const topic of groupInputTopics(deployment)) if (!(await groupConsumedAll(brokers, deployment.applicationId, topic))) return false
  return true
}

/**
 * A commerce worker child process. `stop()` is SIGTERM (a clean close) and waits for the exit;
 * `kill()` is SIGKILL. The fixture program reports its status (`status`).
 */
export class CommerceWorkerProcess {
  readonly name: string
  /** The last `STATUS` line (fixture only). */
  status: InstanceStatus | undefined
  /** Exit code or signal name, once exited. */
  exitedWith: string | undefined
  private readonly child: ChildProcess
  private readonly exited: Promise<void>
  private tail = ''

  /** Starts the process. */
  constructor(name: string, program: WorkerProgram, env: Readonly<Record<string, string>>) {
    this.name = name
    const root = join(import.meta.dirname, '..', '..')
    const args = program === WorkerPrograms.APP ? [join(root, 'apps', 'worker.ts'), 'commerce'] : [join(root, 'test', 'fixtures', 'commerce-worker.ts')]
    this.child = spawn(process.execPath, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
    this.exited = new Promise((resolve) =>
      this.child.once('exit', (code, signal) => {
        this.exitedWith = signal ?? String(code)
        resolve()
      })
    )
    let partial = ''
    this.child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      const lines = (partial + chunk).split('\n')
      partial = lines.pop() ?? ''
      for (const line of lines) {
        if (line.startsWith('STATUS ')) this.status = JSON.parse(line.slice('STATUS '.length)) as InstanceStatus
        else this.tail = `${this.tail}${line}\n`.slice(-4000)
      }
    })
    // Debugging aid: WORKER_LOG_DIR keeps each worker's log in <dir>/<name>.log.
    const logDir = process.env.WORKER_LOG_DIR
    this.child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      this.tail = (this.tail + chunk).slice(-4000)
      if (logDir !== undefined) appendFileSync(join(logDir, `commerce-${name}.log`), chunk)
    })
  }

  get running(): boolean {
    return this.exitedWith === undefined
  }

  /** Fails naming the exit and the last output when the process has exited. */
  assertAlive(): void {
    if (!this.running) throw new Error(`worker ${this.name} exited (${this.exitedWith ?? '?'}): ${this.tail}`)
  }

  /** Records processed by the current process, per its last status line. */
  get processed(): number {
    return this.status?.recordsProcessedTotal ?? 0
  }

  /** Tasks running in the process, per its last status line. */
  get runningTasks(): string[] {
    return (this.status?.tasks ?? []).filter((t) => t.phase === 'running').map((t) => t.id)
  }

  /** Recent output, for failure messages. */
  get output(): string {
    return this.tail
  }

  /** SIGTERM; SIGKILL after `timeoutMs`. Resolves the exit code or signal. */
  async stop(timeoutMs = 60_000): Promise<string | undefined> {
    if (this.running) {
      this.child.kill('SIGTERM')
      const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs)
      await this.exited
      clearTimeout(timer)
    }
    return this.exitedWith
  }

  /** SIGKILL: no commit, no leave-group, open transactions left open. */
  async kill(): Promise<void> {
    if (!this.running) return
    this.child.kill('SIGKILL')
    await this.exited
  }
}

/** The worker environment of a deployment (topics, application id, registry) plus `extra`. */
export function commerceWorkerEnv(env: CommerceTestEnv, deployment: CommerceDeployment, extra: Record<string, string>): Record<string, string> {
  const { topics } = deployment
  return {
    KAFKA_BROKERS: env.brokers.join(','),
    SCHEMA_REGISTRY_URL: env.registryUrl,
    APPLICATION_ID: deployment.applicationId,
    LOG_LEVEL: process.env.WORKER_LOG_LEVEL ?? 'error',
    COMMERCE_ANALYTICS_TOPIC: topics.analytics,
    COMMERCE_ANALYTICS_DLQ_TOPIC: topics.analyticsDlq,
    COMMERCE_PRODUCT_SOLD_TOPIC: topics.productSold,
    COMMERCE_PRODUCT_RATED_TOPIC: topics.productRated,
    COMMERCE_SALES_TOPIC: topics.sales1h,
    COMMERCE_PRODUCT_RATINGS_TOPIC: topics.productRatings,
    COMMERCE_CATEGORY_RATINGS_TOPIC: topics.categoryRatings,
    ...extra
  }
}

/** Compares the latest value per key of the three outputs with the reference, naming the first differences of each. */
export function expectCommerceOutputsEqual(expected: CommerceReferenceResult, outputs: CommerceOutputs): void {
  const roles = ['sales1h', 'productRatings', 'categoryRatings'] as const
  const diffs = roles.map((role) => diffLatestValues(expected[role] as Map<string, object>, outputs.latest[role] as Map<string, object>, 5))
  const summary = roles.map(
    (role, i) => `${role}: ${(diffs[i] ?? []).length} differences shown of ${expected[role].size} keys (${outputs.records[role]} records read)`
  )
  for (const [i, role] of roles.entries()) {
    expect(diffs[i], summary.join('; ')).toEqual([])
    expect(outputs.latest[role].size, role).toBe(expected[role].size)
  }
}

/**
 * The committed dead letters of a deployment: one on `analytics.dlq` per invalid seed event, every
 * rejection code of the bridge among them, each naming the `analytics` topic; none on the typed
 * dead-letter topic (the bridge writes only valid typed events).
 */
export async function expectSeedDeadLetters(brokers: readonly string[], deployment: CommerceDeployment, invalid: number): Promise<void> {
  const dead = await readTopicToEnd(brokers, deployment.topics.analyticsDlq)
  expect(dead).toHaveLength(invalid)
  const codes = new Set(dead.map((r) => r.headers.get(DeadLetterHeaders.ERROR_CODE)))
  expect([...codes].sort()).toEqual(Object.values(BridgeErrorCodes).sort())
  expect(new Set(dead.map((r) => r.headers.get(DeadLetterHeaders.TOPIC)))).toEqual(new Set([deployment.topics.analytics]))
  expect(await readTopicToEnd(brokers, deployment.typedDeadLetterTopic)).toEqual([])
}
