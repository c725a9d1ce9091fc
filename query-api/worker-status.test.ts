import { describe, expect, it } from 'vitest'
import type { FollowedRecord } from './topic-follower.ts'
import { parseWorkerStatus, WorkerStatusBoard } from './worker-status.ts'

const report = {
  applicationId: 'runnel-traffic',
  instanceId: 'w-1',
  state: 'RUNNING',
  processingGuarantee: 'exactly_once_v2',
  memberId: 'm-1',
  generationId: 3,
  startedAtMs: 1000,
  updatedAtMs: 50_000,
  recordsProcessedTotal: 1234,
  recordsPerSecond: 99.5,
  commits: 7,
  lastCommitAtMs: 49_000,
  error: null,
  metricsPort: null,
  tasks: [
    {
      id: '0_1',
      subtopology: 0,
      partition: 1,
      phase: 'running',
      inputs: ['obs-1'],
      recordsProcessed: 600,
      streamTimeMs: 48_000,
      bufferedRecords: 2,
      restoredRecords: 0,
      restoreRemainingOffsets: 0,
      droppedRecords: { late: 3 }
    },
    {
      id: '0_0',
      subtopology: 0,
      partition: 0,
      phase: 'restoring',
      inputs: ['obs-0'],
      recordsProcessed: 634,
      streamTimeMs: -1,
      bufferedRecords: 0,
      restoredRecords: 10,
      restoreRemainingOffsets: 5,
      droppedRecords: {}
    }
  ],
  partitions: [
    { topic: 'obs', partition: 0, task: '0_0', position: 10, committedOffset: 8, endOffset: 12, lag: 4 },
    { topic: 'obs', partition: 1, task: '0_1', position: 0, committedOffset: 0, endOffset: -1, lag: -1 }
  ]
}

const record = (key: string, value: unknown): FollowedRecord => ({
  topic: 'runnel-traffic-status',
  partition: 0,
  offset: 0,
  timestampMs: 0,
  key: Buffer.from(key),
  value: value === null ? null : Buffer.from(typeof value === 'string' ? value : JSON.stringify(value))
})

describe('parseWorkerStatus', () => {
  it('reads a runtime status snapshot, sorting tasks and summing the known input lag', () => {
    expect(parseWorkerStatus(Buffer.from(JSON.stringify(report)))).toEqual({
      instanceId: 'w-1',
      state: 'RUNNING',
      processingGuarantee: 'exactly_once_v2',
      memberId: 'm-1',
      recordsProcessedTotal: 1234,
      recordsPerSecond: 99.5,
      commits: 7,
      lastCommitAtMs: 49_000,
      inputLag: 4,
      error: null,
      startedAtMs: 1000,
      updatedAtMs: 50_000,
      tasks: [
        { id: '0_0', phase: 'restoring', recordsProcessed: 634, streamTimeMs: -1, bufferedRecords: 0, restoreRemainingOffsets: 5, droppedRecords: {} },
        {
          id: '0_1',
          phase: 'running',
          recordsProcessed: 600,
          streamTimeMs: 48_000,
          bufferedRecords: 2,
          restoreRemainingOffsets: 0,
          droppedRecords: { late: 3 }
        }
      ]
    })
  })

  it('refuses reports without the required fields or with a malformed task', () => {
    expect(parseWorkerStatus(Buffer.from('not json'))).toBeUndefined()
    expect(parseWorkerStatus(Buffer.from('null'))).toBeUndefined()
    expect(parseWorkerStatus(Buffer.from(JSON.stringify({ ...report, instanceId: 5 })))).toBeUndefined()
    expect(parseWorkerStatus(Buffer.from(JSON.stringify({ ...report, tasks: [{ id: '0_0' }] })))).toBeUndefined()
  })
})

describe('WorkerStatusBoard', () => {
  it('keeps the latest report per instance, forgets on a tombstone, counts unreadable ones and flags stale reports', () => {
    let now = 60_000
    const board = new WorkerStatusBoard({ staleAfterMs: 30_000, now: () => now })
    board.apply([
      record('w-1', report),
      record('w-2', { ...report, instanceId: 'w-2', updatedAtMs: 10_000 }),
      record('w-3', 'garbage'),
      record('w-1', { ...report, commits: 8 })
    ])
    expect(board.ignored).toBe(1)
    expect(board.reports().map((r) => [r.instanceId, r.commits, r.stale])).toEqual([
      ['w-1', 8, false],
      ['w-2', 7, true]
    ])
    board.apply([record('w-2', null)])
    now = 90_000
    expect(board.reports().map((r) => [r.instanceId, r.stale])).toEqual([['w-1', true]])
  })
})
