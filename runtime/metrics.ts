/**
 * Prometheus metrics of one instance, in their own prom-client registry (labels `application_id`
 * and `instance_id` on every series). Hot-path counters are incremented once per processing round,
 * not per record; gauges are computed when scraped.
 *
 * - `runnel_records_processed_total{task}`: records taken by each task (processed or dropped).
 * - `runnel_commit_latency_seconds`: duration of a commit (flush, produce acks, offsets/transaction).
 * - `runnel_commits_total{result}`: commits by result (`ok`, `failed`).
 * - `runnel_consumer_lag_records{topic,partition}`: end offset (last stable offset under exactly-once)
 *   minus the fetch position, per input partition the instance owns.
 * - `runnel_dropped_records{task,reason}`: records dropped by the task core since the task started
 *   here; `reason="late"` counts late records dropped by windowed operators.
 * - `runnel_restore_remaining_offsets{task,topic}` and `runnel_restored_records{task}`: restore progress.
 * - `runnel_store_entries{task,store}`: approximate entries of key-value stores.
 * - `runnel_tasks{phase}` and `runnel_instance_state{state}` (1 for the current state).
 *
 * The endpoint has no authentication, so it listens on 127.0.0.1 unless told otherwise: a
 * Prometheus on another host needs an explicit host (`0.0.0.0`, or one interface's address).
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Counter, Gauge, Histogram, Registry } from 'prom-client'
import type { KeyValueStore } from '../state/index.ts'
import type { ActiveTask } from './active-task.ts'

/** What the metrics read when scraped. */
export interface MetricsSource {
  tasks(): Iterable<ActiveTask>
  lags(): Iterable<{ topic: string; partition: number; lag: number }>
  state(): string
}

export const INSTANCE_STATES = ['CREATED', 'REBALANCING', 'RUNNING', 'PENDING_SHUTDOWN', 'NOT_RUNNING', 'ERROR'] as const

export class RuntimeMetrics {
  readonly registry = new Registry()
  readonly recordsProcessed: Counter<'task'>
  readonly commitLatency: Histogram
  readonly commits: Counter<'result'>

  constructor(labels: { applicationId: string; instanceId: string }, source: MetricsSource) {
    this.registry.setDefaultLabels({ application_id: labels.applicationId, instance_id: labels.instanceId })
    const registers = [this.registry]
    this.recordsProcessed = new Counter({
      name: 'runnel_records_processed_total',
      help: 'Records taken by each task (processed or dropped)',
      labelNames: ['task'],
      registers
    })
    this.commitLatency = new Histogram({
      name: 'runnel_commit_latency_seconds',
      help: 'Duration of a commit: store flush, produce acknowledgements, offsets or transaction commit',
      buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers
    })
    this.commits = new Counter({ name: 'runnel_commits_total', help: 'Commits by result', labelNames: ['result'], registers })
    new Gauge({
      name: 'runnel_consumer_lag_records',
      help: 'End offset minus fetch position per owned input partition',
      labelNames: ['topic', 'partition'],
      registers,
      collect() {
        this.reset()
        for (const { topic, partition, lag } of source.lags()) this.set({ topic, partition: String(partition) }, lag)
      }
    })
    new Gauge({
      name: 'runnel_dropped_records',
      help: 'Records dropped by each task since it started on this instance, by reason (late, deserialization, ...)',
      labelNames: ['task', 'reason'],
      registers,
      collect() {
        this.reset()
        for (const task of source.tasks()) {
          if (!task.isOpen) continue
          const byReason = new Map<string, number>()
          for (const c of task.task.droppedRecordCounts()) byReason.set(c.reason, (byReason.get(c.reason) ?? 0) + c.count)
          if (!byReason.has('late')) byReason.set('late', 0)
          for (const [reason, count] of byReason) this.set({ task: task.id, reason }, count)
        }
      }
    })
    new Gauge({
      name: 'runnel_restore_remaining_offsets',
      help: 'Changelog offsets left to restore per task and changelog',
      labelNames: ['task', 'topic'],
      registers,
      collect() {
        this.reset()
        for (const task of source.tasks()) {
          for (const [topic, progress] of task.restoreProgress) this.set({ task: task.id, topic }, task.phase === 'restoring' ? progress.remainingOffsets : 0)
        }
      }
    })
    new Gauge({
      name: 'runnel_restored_records',
      help: 'Changelog records restored by each task when it started here',
      labelNames: ['task'],
      registers,
      collect() {
        this.reset()
        for (const task of source.tasks()) this.set({ task: task.id }, task.restoredRecords)
      }
    })
    new Gauge({
      name: 'runnel_store_entries',
      help: 'Approximate number of entries of each key-value store',
      labelNames: ['task', 'store'],
      registers,
      collect() {
        this.reset()
        for (const task of source.tasks()) {
          if (task.phase !== 'running') continue
          for (const name of task.task.storeNames) {
            const store = task.task.getStore(name) as Partial<KeyValueStore<unknown, unknown>> | undefined
            if (typeof store?.approximateNumEntries === 'function' && store.isOpen === true)
              this.set({ task: task.id, store: name }, store.approximateNumEntries())
          }
        }
      }
    })
    new Gauge({
      name: 'runnel_tasks',
      help: 'Tasks of the instance by phase',
      labelNames: ['phase'],
      registers,
      collect() {
        this.reset()
        const counts = new Map<string, number>([
          ['restoring', 0],
          ['running', 0]
        ])
        for (const task of source.tasks()) counts.set(task.phase, (counts.get(task.phase) ?? 0) + 1)
        for (const [phase, n] of counts) this.set({ phase }, n)
      }
    })
    new Gauge({
      name: 'runnel_instance_state',
      help: 'State of the instance (1 for the current state)',
      labelNames: ['state'],
      registers,
      collect() {
        const current = source.state()
        for (const state of INSTANCE_STATES) this.set({ state }, state === current ? 1 : 0)
      }
    })
  }
}

/** Interface the metrics endpoint listens on when none is configured: loopback only. */
export const DEFAULT_METRICS_HOST = '127.0.0.1'

/**
 * A `/metrics` HTTP endpoint serving `registry` on `host` (default 127.0.0.1). Resolves once
 * listening; `port` is the bound port (useful with 0), `host` the bound address.
 */
export async function startMetricsServer(
  registry: Registry,
  port: number,
  host: string = DEFAULT_METRICS_HOST
): Promise<{ port: number; host: string; close(): Promise<void> }> {
  if (typeof host !== 'string' || host.trim() === '') throw new TypeError(`startMetricsServer: host must be a non-empty string, got ${JSON.stringify(host)}`)
  const server: Server = createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: GET /metrics\n')
      return
    }
    registry.metrics().then(
      (body) => {
        res.writeHead(200, { 'content-type': registry.contentType }).end(body)
      },
      (err: unknown) => {
        res.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics failed: ${(err as Error).message}\n`)
      }
    )
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  const address = server.address() as AddressInfo
  return {
    port: address.port,
    host: address.address,
    close: () => new Promise<void>((resolve) => server.close(() => resolve()))
  }
}
