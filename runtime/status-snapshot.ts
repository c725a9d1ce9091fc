/**
 * Builds `InstanceStatus` from the live runtime objects (tasks, fetch positions, loop statistics).
 */
import type { ResolvedConfig } from './config.ts'
import type { PartitionReader } from '../kafka/index.ts'
import type { InstanceStatus, PartitionStatus, StreamsState, TaskStatus } from './status.ts'
import type { StreamThread } from './stream-thread.ts'
import type { TaskManager } from './task-manager.ts'

export interface StatusSources {
  readonly config: ResolvedConfig
  readonly state: StreamsState
  readonly startedAtMs: number | null
  readonly error: Error | undefined
  readonly tasks: TaskManager | undefined
  readonly fetcher: PartitionReader | undefined
  readonly thread: StreamThread | undefined
  readonly metricsPort: number | undefined
}

export function buildStatus(s: StatusSources): InstanceStatus {
  const tasks: TaskStatus[] = []
  const partitions: PartitionStatus[] = []
  for (const task of s.tasks?.tasks.values() ?? []) {
    const dropped: Record<string, number> = {}
    let streamTimeMs = -1
    let bufferedRecords = 0
    if (task.isOpen) {
      for (const c of task.task.droppedRecordCounts()) dropped[c.reason] = (dropped[c.reason] ?? 0) + c.count
      streamTimeMs = task.task.streamTimeMs
      bufferedRecords = task.task.bufferedCount
    }
    let remaining = 0
    if (task.phase === 'restoring') for (const p of task.restoreProgress.values()) remaining += p.remainingOffsets
    tasks.push({
      id: task.id,
      subtopology: task.subtopology.id,
      partition: task.partition,
      phase: task.phase,
      inputs: task.inputs.map((tp) => `${tp.topic}-${tp.partition}`),
      recordsProcessed: task.processedTotal,
      streamTimeMs,
      bufferedRecords,
      restoredRecords: task.restoredRecords,
      restoreRemainingOffsets: remaining,
      droppedRecords: dropped
    })
    for (const tp of task.inputs) {
      const fetched = s.fetcher?.get(tp.topic, tp.partition)
      const committed = task.phase === 'running' ? task.committedOffset(tp.topic, tp.partition) : -1
      const end = fetched ? (fetched.lastStableOffset >= 0 && s.config.exactlyOnce ? fetched.lastStableOffset : fetched.highWatermark) : -1
      partitions.push({
        topic: tp.topic,
        partition: tp.partition,
        task: task.id,
        position: fetched?.position ?? -1,
        committedOffset: committed,
        endOffset: end,
        lag: end < 0 || committed < 0 ? -1 : Math.max(0, end - committed)
      })
    }
  }
  tasks.sort((a, b) => a.subtopology - b.subtopology || a.partition - b.partition)
  return {
    applicationId: s.config.applicationId,
    instanceId: s.config.instanceId,
    state: s.state,
    processingGuarantee: s.config.processingGuarantee,
    memberId: s.thread?.ownership.memberId ?? '',
    generationId: s.thread?.ownership.generationId ?? -1,
    startedAtMs: s.startedAtMs,
    updatedAtMs: s.config.clock(),
    tasks,
    partitions,
    recordsProcessedTotal: s.thread?.processedTotal ?? 0,
    recordsPerSecond: s.thread?.recordsPerSecond ?? 0,
    commits: s.thread?.commits ?? 0,
    lastCommitAtMs: s.thread?.lastCommitAtMs ?? null,
    error: s.error ? `${s.error.name}: ${s.error.message}` : null,
    stalled: s.state === 'RUNNING' || s.state === 'REBALANCING' ? (s.thread?.stall(s.config.clock()) ?? null) : null,
    metricsPort: s.metricsPort ?? null
  }
}
