import { describe, expect, it } from 'vitest'
import type { ClusterMetadata, ExtendedGroupProtocolSubscription } from '@platformatic/kafka'
import {
  assignTasks,
  createPartitionAssigner,
  decodeMemberInfo,
  encodeMemberInfo,
  partitionsOfTask,
  tasksOf,
  tasksOfPartitions,
  type AssignorMember,
  type TaskTopology
} from './assignor.ts'

const member = (memberId: string, ownedTasks: string[] = [], stateTasks: string[] = []): AssignorMember => ({
  memberId,
  info: { version: 1, instanceId: `i-${memberId}`, ownedTasks, stateTasks }
})

const tasks = (subtopologies: number, partitions: number): string[] =>
  Array.from({ length: subtopologies * partitions }, (_, i) => `${Math.floor(i / partitions)}_${i % partitions}`)

function counts(result: Map<string, string[]>): number[] {
  return [...result.values()].map((t) => t.length)
}

function allAssigned(result: Map<string, string[]>): string[] {
  return [...result.values()].flat().sort()
}

describe('assignTasks', () => {
  it('assigns every task exactly once with task counts that differ by at most one', () => {
    for (const n of [1, 2, 3, 4, 5, 7, 13, 20]) {
      const all = tasks(2, 6)
      const result = assignTasks(
        all,
        Array.from({ length: n }, (_, i) => member(`m${i}`))
      )
      expect(allAssigned(result)).toEqual([...all].sort())
      expect(Math.max(...counts(result)) - Math.min(...counts(result))).toBeLessThanOrEqual(1)
    }
  })

  it('keeps tasks with their owners when nothing changes', () => {
    const owned = { a: ['0_0', '0_3', '1_1', '1_4'], b: ['0_1', '0_4', '1_2', '1_5'], c: ['0_2', '0_5', '1_0', '1_3'] }
    const result = assignTasks(tasks(2, 6), [member('a', owned.a), member('b', owned.b), member('c', owned.c)])
    expect(result.get('a')).toEqual(owned.a)
    expect(result.get('b')).toEqual(owned.b)
    expect(result.get('c')).toEqual(owned.c)
  })

  it('moves only the tasks a new member needs for balance when it joins', () => {
    const before = assignTasks(tasks(2, 6), [member('a'), member('b')])
    const after = assignTasks(tasks(2, 6), [member('a', before.get('a')), member('b', before.get('b')), member('c')])
    expect(counts(after)).toEqual([4, 4, 4])
    const moved = (after.get('c') ?? []).length
    expect(moved).toBe(4)
    for (const t of after.get('a') ?? []) expect(before.get('a')).toContain(t)
    for (const t of after.get('b') ?? []) expect(before.get('b')).toContain(t)
  })

  it('lets a member that owned every task keep a share of each sub-topology when another joins', () => {
    const result = assignTasks(tasks(2, 6), [member('a', tasks(2, 6)), member('b')])
    expect(result.get('a')).toEqual(['0_0', '0_1', '0_2', '1_0', '1_1', '1_2'])
    expect(result.get('b')).toEqual(['0_3', '0_4', '0_5', '1_3', '1_4', '1_5'])
  })

  it('gives the tasks of a departed member to members that have their state on disk', () => {
    const result = assignTasks(tasks(1, 4), [member('a', ['0_0', '0_1'], []), member('b', [], ['0_3']), member('c', [], ['0_2'])])
    expect(result.get('a')).toEqual(['0_0', '0_1'])
    expect(result.get('b')).toEqual(['0_3'])
    expect(result.get('c')).toEqual(['0_2'])
  })

  it('lets a task that two members claim (a zombie) go to only one of them', () => {
    const result = assignTasks(['0_0', '0_1'], [member('a', ['0_0']), member('b', ['0_0', '0_1'])])
    expect(allAssigned(result)).toEqual(['0_0', '0_1'])
    expect(result.get('a')).toEqual(['0_0'])
    expect(result.get('b')).toEqual(['0_1'])
  })

  it('spreads the tasks of each sub-topology over the members when nobody owns anything', () => {
    const result = assignTasks(tasks(2, 4), [member('a'), member('b')])
    for (const list of result.values()) {
      expect(list.filter((t) => t.startsWith('0_'))).toHaveLength(2)
      expect(list.filter((t) => t.startsWith('1_'))).toHaveLength(2)
    }
  })

  it('leaves members without tasks when there are more members than tasks', () => {
    const result = assignTasks(['0_0', '0_1'], [member('a'), member('b'), member('c')])
    expect(counts(result).sort()).toEqual([0, 1, 1])
  })
})

describe('task layout', () => {
  const topology: TaskTopology = {
    subtopologies: [
      { id: 0, sourceTopics: ['left', 'right'] },
      { id: 1, sourceTopics: ['app-repartition'] }
    ]
  }
  const partitions = new Map([
    ['left', 3],
    ['right', 3],
    ['app-repartition', 2]
  ])

  it('derives one task per partition of the widest source topic of each sub-topology', () => {
    expect(tasksOf(topology, (t) => partitions.get(t))).toEqual(['0_0', '0_1', '0_2', '1_0', '1_1'])
    expect(tasksOf({ subtopologies: [{ id: 0, sourceTopics: ['a', 'b'] }] }, (t) => (t === 'a' ? 2 : 4))).toEqual(['0_0', '0_1', '0_2', '0_3'])
  })

  it('gives a task the same partition of every source topic of its sub-topology', () => {
    expect(partitionsOfTask(topology, (t) => partitions.get(t), '0_2')).toEqual([
      { topic: 'left', partition: 2 },
      { topic: 'right', partition: 2 }
    ])
    expect(partitionsOfTask({ subtopologies: [{ id: 0, sourceTopics: ['a', 'b'] }] }, (t) => (t === 'a' ? 2 : 4), '0_3')).toEqual([
      { topic: 'b', partition: 3 }
    ])
  })

  it('maps assigned partitions back to task ids', () => {
    expect(
      tasksOfPartitions(topology, [
        { topic: 'right', partitions: [2, 0] },
        { topic: 'left', partitions: [0] },
        { topic: 'app-repartition', partitions: [1] },
        { topic: 'other', partitions: [5] }
      ])
    ).toEqual(['0_0', '0_2', '1_1'])
  })

  it('round-trips member info and treats unreadable user data as a member that owns nothing', () => {
    const info = { version: 1 as const, instanceId: 'x', ownedTasks: ['0_1'], stateTasks: ['1_0'] }
    expect(decodeMemberInfo(encodeMemberInfo(info))).toEqual(info)
    expect(decodeMemberInfo(Buffer.from('not json'))).toEqual({ version: 1, instanceId: 'unknown', ownedTasks: [], stateTasks: [] })
    expect(decodeMemberInfo(undefined).ownedTasks).toEqual([])
  })
})

describe('createPartitionAssigner', () => {
  it('assigns partitions by task so that co-partitioned topics stay together, and reports the task assignment', () => {
    const topology: TaskTopology = { subtopologies: [{ id: 0, sourceTopics: ['left', 'right'] }] }
    const metadata = {
      topics: new Map([
        ['left', { partitionsCount: 4 }],
        ['right', { partitionsCount: 4 }]
      ])
    } as unknown as ClusterMetadata
    const members = new Map<string, ExtendedGroupProtocolSubscription>([
      ['m1', { memberId: 'm1', version: 1, metadata: encodeMemberInfo({ version: 1, instanceId: 'one', ownedTasks: ['0_0', '0_1'], stateTasks: [] }) }],
      ['m2', { memberId: 'm2', version: 1, metadata: encodeMemberInfo({ version: 1, instanceId: 'two', ownedTasks: [], stateTasks: [] }) }]
    ])
    let reported: Map<string, { instanceId: string; tasks: string[] }> | undefined
    const assigner = createPartitionAssigner(topology, (a) => {
      reported = a
    })
    const result = assigner('m1', members, new Set(['left', 'right']), metadata)
    const byMember = new Map(result.map((r) => [r.memberId, Object.fromEntries([...r.assignments].map(([t, a]) => [t, a.partitions]))]))
    expect(byMember.get('m1')).toEqual({ left: [0, 1], right: [0, 1] })
    expect(byMember.get('m2')).toEqual({ left: [2, 3], right: [2, 3] })
    expect(reported?.get('m2')).toEqual({ instanceId: 'two', tasks: ['0_2', '0_3'] })
  })
})
