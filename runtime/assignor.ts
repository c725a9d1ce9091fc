/**
 * The task assignor: the group leader runs it (synchronously, inside @platformatic/kafka's
 * `partitionAssigner`) to spread TASKS, not partitions, over the members of the application's group.
 * A task is (sub-topology, partition); its member gets partition `p` of every source topic of the
 * sub-topology, so co-partitioned topics always stay together. The assignment is balanced (task
 * counts differ by at most one) and sticky: a task stays with the member that owned it, else goes to
 * a member that has its state on disk, as long as balance allows.
 *
 * Each member advertises what it owns and what state it has in its subscription user data
 * (`encodeMemberInfo`), a small JSON document: it is read once per rebalance, never on a hot path.
 */
import type { GroupPartitionsAssigner, GroupPartitionsAssignments } from '@platformatic/kafka'

/** What the assignor needs of the topology: the source topics of each sub-topology. */
export interface TaskTopology {
  readonly subtopologies: ReadonlyArray<{ readonly id: number; readonly sourceTopics: readonly string[] }>
}

/** Advertised by each member when it joins. */
export interface MemberInfo {
  readonly version: 1
  readonly instanceId: string
  /** Task ids (`<sub-topology>_<partition>`) the member runs now. */
  readonly ownedTasks: readonly string[]
  /** Task ids whose state the member has on disk (checkpointed). */
  readonly stateTasks: readonly string[]
}

export interface AssignorMember {
  readonly memberId: string
  readonly info: MemberInfo
}

/** A topic-partition. */
export interface TopicPartition {
  readonly topic: string
  readonly partition: number
}

/** `<sub-topology>_<partition>`, Kafka Streams' task id format. */
export function taskId(subtopology: number, partition: number): string {
  return `${subtopology}_${partition}`
}

/** The parts of a task id, or undefined when `id` is not one. */
export function parseTaskId(id: string): { subtopology: number; partition: number } | undefined {
  const match = /^(\d+)_(\d+)$/.exec(id)
  if (!match) return undefined
  return { subtopology: Number(match[1]), partition: Number(match[2]) }
}

function compareTaskIds(a: string, b: string): number {
  const x = parseTaskId(a)
  const y = parseTaskId(b)
  if (!x || !y) return a < b ? -1 : a > b ? 1 : 0
  return x.subtopology - y.subtopology || x.partition - y.partition
}

export function encodeMemberInfo(info: MemberInfo): Buffer {
  return Buffer.from(JSON.stringify(info), 'utf8')
}

/** Decodes a member's user data; anything unreadable counts as a member that owns nothing. */
export function decodeMemberInfo(data: Buffer | string | undefined | null): MemberInfo {
  const empty: MemberInfo = { version: 1, instanceId: 'unknown', ownedTasks: [], stateTasks: [] }
  if (data === undefined || data === null || data.length === 0) return empty
  try {
    const parsed = JSON.parse(typeof data === 'string' ? data : data.toString('utf8')) as Partial<MemberInfo>
    const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [])
    return {
      version: 1,
      instanceId: typeof parsed.instanceId === 'string' ? parsed.instanceId : 'unknown',
      ownedTasks: strings(parsed.ownedTasks),
      stateTasks: strings(parsed.stateTasks)
    }
  } catch {
    return empty
  }
}

/**
 * Every task of the topology: a sub-topology has as many tasks as its largest source topic has
 * partitions. Topics whose partition count is unknown are left out.
 */
export function tasksOf(topology: TaskTopology, partitionsOf: (topic: string) => number | undefined): string[] {
  const tasks: string[] = []
  for (const sub of topology.subtopologies) {
    let count = 0
    for (const topic of sub.sourceTopics) count = Math.max(count, partitionsOf(topic) ?? 0)
    for (let p = 0; p < count; p++) tasks.push(taskId(sub.id, p))
  }
  return tasks
}

/** The input partitions of a task: partition `p` of each source topic that has it. */
export function partitionsOfTask(topology: TaskTopology, partitionsOf: (topic: string) => number | undefined, id: string): TopicPartition[] {
  const parsed = parseTaskId(id)
  if (!parsed) return []
  const sub = topology.subtopologies.find((s) => s.id === parsed.subtopology)
  if (!sub) return []
  return sub.sourceTopics.filter((t) => parsed.partition < (partitionsOf(t) ?? 0)).map((topic) => ({ topic, partition: parsed.partition }))
}

/** The tasks whose partitions a member was given (a task counts when any of its partitions is there). */
export function tasksOfPartitions(topology: TaskTopology, assigned: ReadonlyArray<{ topic: string; partitions: readonly number[] }>): string[] {
  const subByTopic = new Map<string, number>()
  for (const sub of topology.subtopologies) for (const topic of sub.sourceTopics) subByTopic.set(topic, sub.id)
  const tasks = new Set<string>()
  for (const { topic, partitions } of assigned) {
    const sub = subByTopic.get(topic)
    if (sub === undefined) continue
    for (const p of partitions) tasks.add(taskId(sub, p))
  }
  return [...tasks].sort(compareTaskIds)
}

/**
 * Balanced, sticky assignment of `tasks` to `members`: every member gets floor(T/N) or ceil(T/N)
 * tasks. In order: a task stays with a member that owns it; else it goes to a member with its state
 * on disk; else to the least loaded member (ties: fewest tasks of the same sub-topology, then member
 * id), each step only while the member is under its quota.
 */
export function assignTasks(tasks: readonly string[], members: readonly AssignorMember[]): Map<string, string[]> {
  const result = new Map<string, string[]>()
  const sorted = [...members].sort((a, b) => (a.memberId < b.memberId ? -1 : a.memberId > b.memberId ? 1 : 0))
  for (const m of sorted) result.set(m.memberId, [])
  if (sorted.length === 0) return result
  const ordered = [...new Set(tasks)].sort(compareTaskIds)
  const floor = Math.floor(ordered.length / sorted.length)
  const extra = ordered.length % sorted.length
  let atCeil = 0
  const load = (memberId: string): number => (result.get(memberId) as string[]).length
  const canTake = (memberId: string): boolean => {
    const n = load(memberId)
    return n < floor || (n === floor && atCeil < extra)
  }
  const give = (memberId: string, task: string): void => {
    const list = result.get(memberId) as string[]
    list.push(task)
    if (list.length === floor + 1) atCeil++
  }
  // Partition-major order (0_0, 1_0, 0_1, 1_1, ...): a member that owned more than its quota keeps
  // a share of every sub-topology, not all of the first one.
  const subOf = (task: string): number => parseTaskId(task)?.subtopology ?? -1
  const partitionOf = (task: string): number => parseTaskId(task)?.partition ?? -1
  const unassigned = new Set([...ordered].sort((a, b) => partitionOf(a) - partitionOf(b) || subOf(a) - subOf(b)))
  const place = (pick: (task: string) => AssignorMember | undefined): void => {
    for (const task of [...unassigned]) {
      const member = pick(task)
      if (member) {
        give(member.memberId, task)
        unassigned.delete(task)
      }
    }
  }
  place((task) => sorted.find((m) => m.info.ownedTasks.includes(task) && canTake(m.memberId)))
  place((task) => {
    const candidates = sorted.filter((m) => m.info.stateTasks.includes(task) && canTake(m.memberId))
    return candidates.sort((a, b) => load(a.memberId) - load(b.memberId))[0]
  })
  place((task) => {
    const sub = subOf(task)
    const candidates = sorted.filter((m) => canTake(m.memberId))
    const sameSub = (m: AssignorMember): number => (result.get(m.memberId) as string[]).filter((t) => subOf(t) === sub).length
    // Array.prototype.sort is stable: equal members keep member-id order.
    return candidates.sort((a, b) => load(a.memberId) - load(b.memberId) || sameSub(a) - sameSub(b))[0]
  })
  for (const list of result.values()) list.sort(compareTaskIds)
  return result
}

/**
 * The `partitionAssigner` for @platformatic/kafka: decodes each member's advertised tasks, assigns
 * tasks with `assignTasks` and gives each member the partitions of its tasks. `onAssignment` sees
 * the task assignment (for logs). Note: with a single member the client bypasses the assigner and
 * gives it every partition, which amounts to every task.
 */
export function createPartitionAssigner(
  topology: TaskTopology,
  onAssignment?: (assignment: Map<string, { instanceId: string; tasks: string[] }>) => void
): GroupPartitionsAssigner {
  return (_current, members, _topics, metadata) => {
    const partitionsOf = (topic: string): number | undefined => metadata.topics.get(topic)?.partitionsCount
    const tasks = tasksOf(topology, partitionsOf)
    const decoded: AssignorMember[] = [...members.values()].map((m) => ({ memberId: m.memberId, info: decodeMemberInfo(m.metadata) }))
    const byMember = assignTasks(tasks, decoded)
    const out: GroupPartitionsAssignments[] = []
    const summary = new Map<string, { instanceId: string; tasks: string[] }>()
    for (const member of decoded) {
      const memberTasks = byMember.get(member.memberId) ?? []
      summary.set(member.memberId, { instanceId: member.info.instanceId, tasks: memberTasks })
      const assignments = new Map<string, { topic: string; partitions: number[] }>()
      for (const task of memberTasks) {
        for (const { topic, partition } of partitionsOfTask(topology, partitionsOf, task)) {
          let entry = assignments.get(topic)
          if (!entry) {
            entry = { topic, partitions: [] }
            assignments.set(topic, entry)
          }
          entry.partitions.push(partition)
        }
      }
      out.push({ memberId: member.memberId, assignments })
    }
    onAssignment?.(summary)
    return out
  }
}
