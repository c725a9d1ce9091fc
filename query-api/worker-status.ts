/**
 * The workers' own status reports: the runtime publishes each instance's status snapshot as JSON to
 * the compacted topic `<applicationId>-status`, keyed by instance id, every few seconds. The board
 * keeps the latest report per instance; `system.instances` joins it with the consumer group's
 * members. Reports are checked field by field: a malformed one is ignored, never trusted.
 */
import type { FollowedRecord } from './topic-follower.ts'

/** One task of a worker, as the worker reports it. */
export interface WorkerTaskView {
  /** `<sub-topology>_<partition>`. */
  readonly id: string
  readonly phase: string
  readonly recordsProcessed: number
  /** Highest record timestamp processed, epoch ms (-1 before any). */
  readonly streamTimeMs: number
  readonly bufferedRecords: number
  readonly restoreRemainingOffsets: number
  /** Records dropped by reason (`late`, `deserialization`...). */
  readonly droppedRecords: Record<string, number>
}

/** What a worker instance last reported about itself. */
export interface WorkerStatusView {
  readonly instanceId: string
  /** CREATED, REBALANCING, RUNNING, PENDING_SHUTDOWN, NOT_RUNNING or ERROR. */
  readonly state: string
  readonly processingGuarantee: string
  /** Group member id the worker's tasks are owned under ('' before the first assignment). */
  readonly memberId: string
  readonly tasks: WorkerTaskView[]
  readonly recordsProcessedTotal: number
  /** Records per second over the worker's last commit interval(s). */
  readonly recordsPerSecond: number
  readonly commits: number
  readonly lastCommitAtMs: number | null
  /** Sum of the lag the worker sees on its input partitions (-1 entries left out). */
  readonly inputLag: number
  readonly error: string | null
  readonly startedAtMs: number | null
  /** When the worker took this snapshot, epoch ms. */
  readonly updatedAtMs: number
  /** True when the report is older than the board's staleness limit (the worker may be gone). */
  readonly stale: boolean
}

type Json = Record<string, unknown>

const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v)
const isStr = (v: unknown): v is string => typeof v === 'string'

function task(v: unknown): WorkerTaskView | undefined {
  const t = v as Json
  if (typeof v !== 'object' || v === null || !isStr(t.id) || !isStr(t.phase) || !isNum(t.recordsProcessed)) return undefined
  const dropped: Record<string, number> = {}
  if (typeof t.droppedRecords === 'object' && t.droppedRecords !== null) {
    for (const [reason, n] of Object.entries(t.droppedRecords as Json)) if (isNum(n)) dropped[reason] = n
  }
  return {
    id: t.id,
    phase: t.phase,
    recordsProcessed: t.recordsProcessed,
    streamTimeMs: isNum(t.streamTimeMs) ? t.streamTimeMs : -1,
    bufferedRecords: isNum(t.bufferedRecords) ? t.bufferedRecords : 0,
    restoreRemainingOffsets: isNum(t.restoreRemainingOffsets) ? t.restoreRemainingOffsets : 0,
    droppedRecords: dropped
  }
}

/** Parses one status report; undefined when required fields are missing or malformed. */
export function parseWorkerStatus(value: Buffer): Omit<WorkerStatusView, 'stale'> | undefined {
  let s: Json
  try {
    s = JSON.parse(value.toString('utf8')) as Json
  } catch {
    return undefined
  }
  if (typeof s !== 'object' || s === null || !isStr(s.instanceId) || !isStr(s.state) || !isNum(s.updatedAtMs) || !Array.isArray(s.tasks)) return undefined
  const tasks: WorkerTaskView[] = []
  for (const t of s.tasks) {
    const parsed = task(t)
    if (parsed === undefined) return undefined
    tasks.push(parsed)
  }
  let inputLag = 0
  if (Array.isArray(s.partitions)) for (const p of s.partitions as Json[]) if (isNum(p?.lag) && p.lag > 0) inputLag += p.lag
  return {
    instanceId: s.instanceId,
    state: s.state,
    processingGuarantee: isStr(s.processingGuarantee) ? s.processingGuarantee : '',
    memberId: isStr(s.memberId) ? s.memberId : '',
    tasks: tasks.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)),
    recordsProcessedTotal: isNum(s.recordsProcessedTotal) ? s.recordsProcessedTotal : 0,
    recordsPerSecond: isNum(s.recordsPerSecond) ? s.recordsPerSecond : 0,
    commits: isNum(s.commits) ? s.commits : 0,
    lastCommitAtMs: isNum(s.lastCommitAtMs) ? s.lastCommitAtMs : null,
    inputLag,
    error: isStr(s.error) ? s.error : null,
    startedAtMs: isNum(s.startedAtMs) ? s.startedAtMs : null,
    updatedAtMs: s.updatedAtMs
  }
}

/** Latest status report per worker instance. */
export class WorkerStatusBoard {
  private readonly reports_ = new Map<string, Omit<WorkerStatusView, 'stale'>>()
  private readonly staleAfterMs: number
  private readonly now: () => number
  private ignored_ = 0

  /** `staleAfterMs`: a report older than this is flagged stale (default 30,000: six missed 5-second reports). */
  constructor(options: { staleAfterMs?: number; now?: () => number } = {}) {
    this.staleAfterMs = options.staleAfterMs ?? 30_000
    this.now = options.now ?? Date.now
  }

  /** Reports that could not be read. */
  get ignored(): number {
    return this.ignored_
  }

  /** Applies records of the status topic in order (a tombstone forgets the instance). */
  apply(records: readonly FollowedRecord[]): void {
    for (const r of records) {
      const key = r.key?.toString('utf8')
      if (key === undefined) continue
      if (r.value === null) {
        this.reports_.delete(key)
        continue
      }
      const report = parseWorkerStatus(r.value)
      if (report === undefined) this.ignored_++
      else this.reports_.set(key, report)
    }
  }

  /** Every report, with its staleness, by instance id. */
  reports(): WorkerStatusView[] {
    const now = this.now()
    return [...this.reports_.values()]
      .map((r) => ({ ...r, stale: now - r.updatedAtMs > this.staleAfterMs }))
      .sort((a, b) => (a.instanceId < b.instanceId ? -1 : a.instanceId > b.instanceId ? 1 : 0))
  }
}
