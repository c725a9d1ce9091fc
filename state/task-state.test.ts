import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { stringSerde } from '../schemas/index.ts'
import { CheckpointCorruptError, deleteCheckpoint, readCheckpoint, writeCheckpoint } from './checkpoint.ts'
import { Stores } from './stores.ts'
import { MARKER_FILE, openTaskState, STATE_FORMAT_VERSION, type StateLogger } from './task-state.ts'
import { recordingContext, tempDir } from './test-support.ts'

let folder: { dir: string; cleanup: () => void }
let taskDir: string
const warnings: string[] = []
const logger: StateLogger = {
  info: () => {},
  warn: (obj) => {
    warnings.push(String((obj as { reason?: string }).reason))
  }
}

beforeEach(() => {
  folder = tempDir()
  taskDir = join(folder.dir, 'app', '0_1')
  warnings.length = 0
})
afterEach(() => folder.cleanup())

const base = { applicationId: 'app', taskId: '0_1', persistentStoreNames: ['counts'], logger }

/** Opens the task, writes `key=value` into a persistent store, flushes, checkpoints, closes. */
async function runOnce(value: string, checkpoint = true): Promise<void> {
  const state = await openTaskState({ ...base, taskStateDir: taskDir })
  const store = Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore('counts'), stringSerde, stringSerde).build()
  await store.init(recordingContext({ taskStateDir: taskDir }))
  store.put('key', value)
  store.flush()
  await store.close()
  if (checkpoint) writeCheckpoint(taskDir, [{ topic: 'app-counts-changelog', partition: 1, offset: 7 }])
  await state.close()
}

async function readBack(): Promise<string | undefined> {
  const store = Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore('counts'), stringSerde, stringSerde).build()
  await store.init(recordingContext({ taskStateDir: taskDir }))
  const v = store.get('key')
  await store.close()
  return v
}

describe('checkpoint file', () => {
  it('round-trips offsets and is absent until written', () => {
    mkdirSync(taskDir, { recursive: true })
    expect(readCheckpoint(taskDir)).toBeUndefined()
    writeCheckpoint(taskDir, [{ topic: 't-changelog', partition: 3, offset: 12345 }])
    expect(readCheckpoint(taskDir)).toEqual([{ topic: 't-changelog', partition: 3, offset: 12345 }])
    expect(readdirSync(taskDir)).toEqual(['.checkpoint'])
    deleteCheckpoint(taskDir)
    expect(readCheckpoint(taskDir)).toBeUndefined()
  })

  it('reports a malformed checkpoint as corrupt, naming the file', () => {
    mkdirSync(taskDir, { recursive: true })
    writeFileSync(join(taskDir, '.checkpoint'), '{"version":1,"offsets":[{"topic":"t"}]}')
    expect(() => readCheckpoint(taskDir)).toThrow(CheckpointCorruptError)
    writeFileSync(join(taskDir, '.checkpoint'), 'not json')
    expect(() => readCheckpoint(taskDir)).toThrow(/\.checkpoint is unusable: not JSON/)
  })

  it('rejects negative or fractional offsets on write', () => {
    mkdirSync(taskDir, { recursive: true })
    expect(() => writeCheckpoint(taskDir, [{ topic: 't', partition: 0, offset: -1 }])).toThrow(/non-negative integer/)
  })
})

describe('openTaskState', () => {
  it('creates the folder, writes the marker and returns no checkpoint the first time', async () => {
    const state = await openTaskState({ ...base, taskStateDir: taskDir })
    expect(state.checkpoint).toEqual([])
    expect(state.wipedReason).toBeUndefined()
    await state.close()
    expect(JSON.parse(readFileSync(join(taskDir, MARKER_FILE), 'utf8'))).toEqual({
      formatVersion: STATE_FORMAT_VERSION,
      applicationId: 'app',
      taskId: '0_1',
      stores: ['counts']
    })
  })

  it('keeps a trusted folder and returns its checkpoint', async () => {
    await runOnce('v1')
    const state = await openTaskState({ ...base, taskStateDir: taskDir })
    expect(state.wipedReason).toBeUndefined()
    expect(state.checkpoint).toEqual([{ topic: 'app-counts-changelog', partition: 1, offset: 7 }])
    expect(await readBack()).toBe('v1')
    await state.close()
    expect(warnings).toEqual([])
  })

  it.each<[string, { applicationId?: string; taskId?: string; persistentStoreNames?: string[] }, RegExp]>([
    ['another application', { applicationId: 'other-app' }, /belongs to application "app", not "other-app"/],
    ['another store set', { persistentStoreNames: ['counts', 'totals'] }, /holds stores \[counts\], expected \[counts, totals\]/],
    ['another task', { taskId: '0_2' }, /belongs to task 0_1, not 0_2/]
  ])('wipes a folder of %s with a warning and drops its checkpoint', async (_label, override, reason) => {
    await runOnce('v1')
    const state = await openTaskState({ ...base, ...override, taskStateDir: taskDir })
    expect(state.wipedReason).toMatch(reason)
    expect(state.checkpoint).toEqual([])
    expect(warnings).toHaveLength(1)
    await state.close()
    expect(JSON.parse(readFileSync(join(taskDir, MARKER_FILE), 'utf8')).applicationId).toBe(override.applicationId ?? 'app')
  })

  it('wipes a folder written by another format version', async () => {
    await runOnce('v1')
    const marker = JSON.parse(readFileSync(join(taskDir, MARKER_FILE), 'utf8'))
    writeFileSync(join(taskDir, MARKER_FILE), JSON.stringify({ ...marker, formatVersion: 0 }))
    const state = await openTaskState({ ...base, taskStateDir: taskDir })
    expect(state.wipedReason).toBe(`format version 0, expected ${STATE_FORMAT_VERSION}`)
    expect(await readBack()).toBeUndefined()
    await state.close()
  })

  it('wipes a folder with content but no marker (foreign)', async () => {
    mkdirSync(taskDir, { recursive: true })
    writeFileSync(join(taskDir, 'something-else'), 'x')
    const state = await openTaskState({ ...base, taskStateDir: taskDir })
    expect(state.wipedReason).toMatch(/has content \(something-else\) but no \.runnel-state\.json/)
    expect(existsSync(join(taskDir, 'something-else'))).toBe(false)
    await state.close()
  })

  it('wipes a folder whose marker is not JSON', async () => {
    await runOnce('v1')
    writeFileSync(join(taskDir, MARKER_FILE), '{{{')
    const state = await openTaskState({ ...base, taskStateDir: taskDir })
    expect(state.wipedReason).toBe('marker file is not JSON')
    await state.close()
  })

  it('wipes a folder whose RocksDB database is corrupt, and the stores then work on a fresh one', async () => {
    await runOnce('v1')
    writeFileSync(join(taskDir, 'rocksdb', 'CURRENT'), 'garbage\n')
    const state = await openTaskState({ ...base, taskStateDir: taskDir })
    expect(state.wipedReason).toMatch(/RocksDB cannot open it: Corruption/)
    expect(state.checkpoint).toEqual([])
    expect(await readBack()).toBeUndefined()
    await state.close()
    expect(warnings).toHaveLength(1)
  })

  it('wipes local state that has no checkpoint (unclean shutdown)', async () => {
    await runOnce('v1', false)
    const state = await openTaskState({ ...base, taskStateDir: taskDir })
    expect(state.wipedReason).toMatch(/no checkpoint/)
    expect(await readBack()).toBeUndefined()
    await state.close()
  })

  it('wipes a folder whose checkpoint is corrupt', async () => {
    await runOnce('v1')
    writeFileSync(join(taskDir, '.checkpoint'), 'nope')
    const state = await openTaskState({ ...base, taskStateDir: taskDir })
    expect(state.wipedReason).toMatch(/checkpoint .* is unusable/)
    await state.close()
  })

  it('deletes the checkpoint after reading it under exactly-once', async () => {
    await runOnce('v1')
    const state = await openTaskState({ ...base, taskStateDir: taskDir, exactlyOnce: true })
    expect(state.checkpoint).toHaveLength(1)
    expect(readCheckpoint(taskDir)).toBeUndefined()
    await state.close()
  })

  it('refuses to open a task folder that is already open in this process', async () => {
    const state = await openTaskState({ ...base, taskStateDir: taskDir })
    await expect(openTaskState({ ...base, taskStateDir: taskDir })).rejects.toThrow(/already open in this process/)
    await state.close()
  })

  it('names the bad option', async () => {
    await expect(openTaskState({ ...base, taskStateDir: '' })).rejects.toThrow(/taskStateDir/)
    await expect(openTaskState({ ...base, applicationId: '', taskStateDir: taskDir })).rejects.toThrow(/applicationId/)
  })
})
