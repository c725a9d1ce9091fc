import { describe, expect, it } from 'vitest'
import { canonicalAvroSchema } from '../schemas/index.ts'
import { MemoryLog } from './log.ts'
import { configEntry, deleteVersionEntry, idFloorEntry, type LogEntry, registerEntry, tombstoneEntry } from './records.ts'
import { RegistryState } from './state.ts'

const schemaA = canonicalAvroSchema({ type: 'record', name: 'A', fields: [{ name: 'a', type: 'int' }] })
const schemaB = canonicalAvroSchema({ type: 'record', name: 'B', fields: [{ name: 'b', type: 'int' }] })

function replay(log: MemoryLog): RegistryState {
  const state = new RegistryState()
  for (const r of log.records()) state.apply(r)
  return state
}

// A summary of everything a client can observe.
function view(state: RegistryState) {
  return {
    subjects: state.subjects(true).map((s) => ({ s, versions: state.versions(s, true) })),
    schemas: [1, 2, 3, 4, 5].map((id) => state.schema(id)?.canonical ?? null),
    nextId: state.nextId()
  }
}

describe('registry state replay', () => {
  it('the first claim of a version wins; a later claim of the same version is rejected by every replayer', () => {
    const log = new MemoryLog()
    const first = registerEntry('s', 1, 1, schemaA)
    const second = registerEntry('s', 1, 2, schemaB)
    log.append([first.entry, idFloorEntry(1), second.entry, idFloorEntry(2)])
    const state = replay(log)
    expect(state.outcome(first.key)).toBe('accepted')
    expect(state.outcome(second.key)).toBe('rejected')
    expect(state.versions('s', true)).toEqual([{ subject: 's', version: 1, id: 1, deleted: false }])
    expect(state.schema(2)).toBeUndefined()
    expect(state.nextId()).toBe(3)
  })

  it('two writers picking the same new id for different schemas: the second is rejected', () => {
    const log = new MemoryLog()
    const a = registerEntry('s1', 1, 1, schemaA)
    const b = registerEntry('s2', 1, 1, schemaB)
    log.append([a.entry, b.entry])
    const state = replay(log)
    expect(state.outcome(b.key)).toBe('rejected')
    expect(state.subjects(true)).toEqual(['s1'])
  })

  it('the same schema under two subjects shares one id; under a second id it is rejected', () => {
    const log = new MemoryLog()
    const a = registerEntry('s1', 1, 1, schemaA)
    const sameId = registerEntry('s2', 1, 1, schemaA)
    const otherId = registerEntry('s3', 1, 2, schemaA)
    log.append([a.entry, sameId.entry, otherId.entry])
    const state = replay(log)
    expect([state.outcome(a.key), state.outcome(sameId.key), state.outcome(otherId.key)]).toEqual(['accepted', 'accepted', 'rejected'])
    expect(state.versionsOfId(1, false).map((v) => v.subject)).toEqual(['s1', 's2'])
  })

  it('an id freed by a permanent delete is never assigned again, even after compaction', () => {
    const log = new MemoryLog()
    const a = registerEntry('s', 1, 1, schemaA)
    log.append([a.entry, idFloorEntry(1)])
    const del = deleteVersionEntry('s', 1)
    log.append([del])
    let state = replay(log)
    log.append(state.keysOf('s', 1).map(tombstoneEntry))
    state = replay(log)
    expect(state.schema(1)).toBeUndefined()
    expect(state.nextId()).toBe(2)
    const reuse = registerEntry('t', 1, 1, schemaB)
    log.append([reuse.entry])
    expect(replay(log).outcome(reuse.key)).toBe('rejected')
    log.compact()
    expect(replay(log).nextId()).toBe(2)
  })

  it('replaying the compacted log gives the same state as replaying the full log', () => {
    const log = new MemoryLog()
    const entries: LogEntry[] = [
      registerEntry('s', 1, 1, schemaA).entry,
      idFloorEntry(1),
      configEntry('s', 'FULL'),
      configEntry(null, 'NONE'),
      configEntry('s', 'FORWARD'),
      registerEntry('t', 1, 2, schemaB).entry,
      idFloorEntry(2),
      registerEntry('t', 2, 1, schemaA).entry,
      deleteVersionEntry('t', 1)
    ]
    log.append(entries)
    // A permanent delete of t v1, with its tombstones, then a config removal.
    const before = replay(log)
    log.append([...before.keysOf('t', 1).map(tombstoneEntry), configEntry(null, null)])
    const full = replay(log)
    log.compact()
    const compacted = replay(log)
    expect(view(compacted)).toEqual(view(full))
    expect(compacted.subjectLevel('s')).toBe('FORWARD')
    expect(compacted.globalLevel()).toBeUndefined()
    expect(full.versions('t', true)).toEqual([{ subject: 't', version: 2, id: 1, deleted: false }])
    expect(full.schema(2)).toBeUndefined()
    expect(full.nextId()).toBe(3)
  })

  it('soft-deleted versions stay readable with includeDeleted and keep their ids', () => {
    const log = new MemoryLog()
    log.append([registerEntry('s', 1, 1, schemaA).entry, registerEntry('s', 2, 2, schemaB).entry, deleteVersionEntry('s', 1)])
    const state = replay(log)
    expect(state.versions('s', false).map((v) => v.version)).toEqual([2])
    expect(state.versions('s', true).map((v) => [v.version, v.deleted])).toEqual([
      [1, true],
      [2, false]
    ])
    expect(state.schema(1)?.canonical).toBe(schemaA)
    expect(state.nextVersion('s')).toBe(3)
  })

  it('skips records it does not understand instead of failing', () => {
    const state = new RegistryState()
    state.apply({ key: Buffer.from('{"keytype":"SCHEMA","subject":"x"}'), value: Buffer.from('{}'), offset: 0n })
    state.apply({ key: Buffer.from('not json'), value: Buffer.from('{}'), offset: 1n })
    state.apply({ key: null, value: null, offset: 2n })
    expect(state.skippedRecords).toBe(3)
    expect(state.subjects(true)).toEqual([])
  })
})
