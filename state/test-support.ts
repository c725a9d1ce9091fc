/**
 * Helpers for state tests (unit and integration): a StateStoreContext that records changelog writes
 * and restore registrations, and temporary task folders. Not part of the public surface.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { StateStoreError } from './errors.ts'
import { readUInt64BE, SESSION_SUFFIX_BYTES, WINDOW_SUFFIX_BYTES, writeUInt64BE } from './key-schema.ts'
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

export function recordingContext(
  options: {
    taskStateDir?: string
    cacheMaxBytes?: number
    applicationId?: string
    taskId?: string
    logChange?: (storeName: string, key: Buffer, value: Buffer | null, timestampMs: number) => void
  } = {}
): RecordingContext {
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
    setTimeMs: (ms) => {
      now = ms
    },
    currentTimestampMs: () => now,
    logChange:
      options.logChange ??
      ((storeName, key, value, timestampMs) => {
        logged.push({ storeName, key: Buffer.from(key), value: value === null ? null : Buffer.from(value), timestampMs })
      }),
    register: (store, restore) => {
      restorers.set(store.name, { store, restore })
    }
  }
}

/** A fresh temporary folder; `cleanup` removes it. */
export function tempDir(prefix = 'runnel-state-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) }
}

/*
 * Reference codecs of the window and session changelog key layouts (see key-schema.ts), written
 * apart from the key schema so that tests pin the bytes the changelog topics carry.
 */
/** The changelog key of a window entry (see the layout above encodeWindowKey). */
export function encodeWindowChangelogKey(key: Buffer, windowStartMs: number, seq: number): Buffer {
  const n = key.length
  const out = Buffer.allocUnsafe(n + WINDOW_SUFFIX_BYTES)
  key.copy(out, 0)
  writeUInt64BE(out, windowStartMs, n)
  out.writeUInt32BE(seq, n + 8)
  return out
}

/** Parts of a window changelog key; throws on keys too short to be one. */
export function decodeWindowChangelogKey(data: Buffer): { key: Buffer; windowStartMs: number; seq: number } {
  if (data.length < WINDOW_SUFFIX_BYTES) {
    throw new StateStoreError('STATE_BAD_CHANGELOG_KEY', `a window changelog key needs at least ${WINDOW_SUFFIX_BYTES} bytes, got ${data.length}`)
  }
  const n = data.length - WINDOW_SUFFIX_BYTES
  return { key: data.subarray(0, n), windowStartMs: readUInt64BE(data, n), seq: data.readUInt32BE(n + 8) }
}

/** The changelog key of a session (see the layout above encodeSessionKey). */
export function encodeSessionChangelogKey(key: Buffer, endMs: number, startMs: number): Buffer {
  const n = key.length
  const out = Buffer.allocUnsafe(n + SESSION_SUFFIX_BYTES)
  key.copy(out, 0)
  writeUInt64BE(out, endMs, n)
  writeUInt64BE(out, startMs, n + 8)
  return out
}

/** Parts of a session changelog key; throws on keys too short to be one. */
export function decodeSessionChangelogKey(data: Buffer): { key: Buffer; endMs: number; startMs: number } {
  if (data.length < SESSION_SUFFIX_BYTES) {
    throw new StateStoreError('STATE_BAD_CHANGELOG_KEY', `a session changelog key needs at least ${SESSION_SUFFIX_BYTES} bytes, got ${data.length}`)
  }
  const n = data.length - SESSION_SUFFIX_BYTES
  return { key: data.subarray(0, n), endMs: readUInt64BE(data, n), startMs: readUInt64BE(data, n + 8) }
}
