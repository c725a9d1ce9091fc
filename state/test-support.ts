/**
 * Helpers for state tests (unit and integration): a StateStoreContext that records changelog writes
 * and restore registrations, and temporary task folders. Not part of the public surface.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { RestoreCallback, StateStore, StateStoreContext } from './types.ts'

export interface LoggedChange {
  storeName: string
  key: Buffer
  value: Buffer | null
  timestampMs: number
}

export interface RecordingContext extends StateStoreContext {
  /** Every logChange call, in order. */
  readonly logged: LoggedChange[]
  /** Restore callbacks by store name, and the store each was registered with. */
  readonly restorers: Map<string, { store: StateStore; restore: RestoreCallback }>
  /** Sets what currentTimestampMs returns. */
  setTimeMs(ms: number): void
}

export function recordingContext(options: {
  taskStateDir?: string
  cacheMaxBytes?: number
  applicationId?: string
  taskId?: string
  logChange?: (storeName: string, key: Buffer, value: Buffer | null, timestampMs: number) => void
} = {}): RecordingContext {
  const logged: LoggedChange[] = []
  const restorers = new Map<string, { store: StateStore; restore: RestoreCallback }>()
  let now = 0
  const taskId = options.taskId ?? '0_0'
  return {
    applicationId: options.applicationId ?? 'test-app',
    taskId,
    partition: Number(taskId.split('_')[1] ?? 0),
    taskStateDir: options.taskStateDir ?? '/nonexistent-state-dir',
    cacheMaxBytes: options.cacheMaxBytes ?? 10 * 1024 * 1024,
    logged,
    restorers,
    setTimeMs: (ms) => { now = ms },
    currentTimestampMs: () => now,
    logChange: options.logChange ?? ((storeName, key, value, timestampMs) => {
      logged.push({ storeName, key: Buffer.from(key), value: value === null ? null : Buffer.from(value), timestampMs })
    }),
    register: (store, restore) => { restorers.set(store.name, { store, restore }) }
  }
}

/** A fresh temporary folder; `cleanup` removes it. */
export function tempDir(prefix = 'runnel-state-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) }
}
