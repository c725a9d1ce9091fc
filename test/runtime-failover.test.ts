/**
 * Failover on the real broker: three instances (child processes) of the windowed count share the
 * tasks; one of them is SIGKILLed three times while input keeps arriving, and restarted each time
 * with its instance id and state folder. Under exactly_once_v2 the final compacted output must equal
 * the plain-loop counts exactly; under at_least_once nothing may be lost (every count at least the
 * expected one, no key missing, no unexpected key).
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { createTopics, kafkaBrokers, uniqueName } from './support/kafka.ts'
import { diffCounts, produceEvents, readLatestCounts, waitFor } from './fixtures/runtime-helpers.ts'
import { expectedCounts, makeEvents } from './fixtures/windowed-count.ts'
import { groupCaughtUp, Worker } from './fixtures/workers.ts'

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))
let workers: Worker[] = []
let stateRoot: string | undefined

afterEach(async () => {
  await Promise.all(workers.map((w) => w.stop()))
  workers = []
  if (stateRoot) rmSync(stateRoot, { recursive: true, force: true })
  stateRoot = undefined
})

async function killScenario(
  guarantee: 'at_least_once' | 'exactly_once_v2'
): Promise<{ expected: Map<string, number>; actual: Map<string, number>; restored: number }> {
  const brokers = kafkaBrokers()
  const appId = uniqueName(`rt-kill-${guarantee === 'exactly_once_v2' ? 'eos' : 'alos'}`)
  const input = `${appId}-in`
  const output = `${appId}-out`
  await createTopics(brokers, [
    { name: input, partitions: 6 },
    { name: output, partitions: 3, configs: { 'cleanup.policy': 'compact' } }
  ])
  stateRoot = mkdtempSync(join(tmpdir(), 'runnel-rt-kill-'))
  workers = ['a', 'b', 'c'].map((id) => new Worker({ brokers, appId, instanceId: id, stateDir: join(stateRoot as string, id), guarantee, input, output }))
  for (const w of workers) w.start()
  await waitFor(
    'all 12 tasks running on the three instances',
    () => new Set(workers.flatMap((w) => w.runningTasks)).size === 12 && workers.every((w) => w.runningTasks.length > 0),
    60_000
  )

  const events = makeEvents(18_000)
  const producing = (async () => {
    for (let i = 0; i < events.length; i += 600) {
      await produceEvents(brokers, input, 6, events.slice(i, i + 600))
      await sleep(450)
    }
  })()
  // Tasks that move after a kill must resume from state restored from their changelogs.
  let restored = 0
  const watch = setInterval(() => {
    for (const w of workers) for (const t of w.status?.tasks ?? []) restored = Math.max(restored, t.restoredRecords)
  }, 100)
  for (const victim of [workers[0], workers[1], workers[0]] as Worker[]) {
    await sleep(3000)
    await victim.kill()
    await sleep(2500)
    victim.start()
    await waitFor(`${victim.spec.instanceId} to run tasks again`, () => victim.runningTasks.length > 0, 60_000)
  }
  await producing
  clearInterval(watch)
  await waitFor(
    'the group to commit every input and repartition record',
    () => groupCaughtUp(brokers, appId, [input, `${appId}-by-group-repartition`]),
    120_000,
    1000
  )
  return { expected: expectedCounts(events), actual: await readLatestCounts(brokers, output), restored }
}

describe('SIGKILL of one of three instances, three times, while input arrives', () => {
  it('exactly_once_v2: the final output equals the expected counts exactly (nothing lost, nothing counted twice)', async () => {
    const { expected, actual, restored } = await killScenario('exactly_once_v2')
    expect(restored).toBeGreaterThan(0)
    expect(diffCounts(expected, actual)).toEqual([])
    expect([...actual.values()].reduce((a, b) => a + b, 0)).toBe(18_000)
  }, 240_000)

  it('at_least_once: nothing is lost (every expected key present with at least its count, no unexpected key)', async () => {
    const { expected, actual } = await killScenario('at_least_once')
    const lost = [...expected]
      .filter(([key, count]) => (actual.get(key) ?? 0) < count)
      .map(([key, count]) => `${key}: expected >= ${count}, got ${actual.get(key)}`)
    expect(lost).toEqual([])
    expect([...actual.keys()].filter((key) => !expected.has(key))).toEqual([])
  }, 240_000)
})

describe('an instance whose thread stalls past the session timeout (a zombie)', () => {
  it('exactly_once_v2: loses its tasks, cannot commit the work it did meanwhile, rejoins, and nothing is counted twice', async () => {
    const brokers = kafkaBrokers()
    const appId = uniqueName('rt-zombie')
    const input = `${appId}-in`
    const output = `${appId}-out`
    await createTopics(brokers, [
      { name: input, partitions: 6 },
      { name: output, partitions: 3, configs: { 'cleanup.policy': 'compact' } }
    ])
    stateRoot = mkdtempSync(join(tmpdir(), 'runnel-rt-zombie-'))
    const spec = { brokers, appId, guarantee: 'exactly_once_v2' as const, input, output }
    const zombie = new Worker({ ...spec, instanceId: 'z', stateDir: join(stateRoot, 'z'), stall: { atEvent: 4000, ms: 8000 } })
    const other = new Worker({ ...spec, instanceId: 'o', stateDir: join(stateRoot, 'o') })
    workers = [zombie, other]
    zombie.start()
    other.start()
    await waitFor('both instances running tasks', () => zombie.runningTasks.length === 6 && other.runningTasks.length === 6, 60_000)
    const memberBefore = zombie.status?.memberId
    const events = makeEvents(12_000)
    for (let i = 0; i < events.length; i += 600) {
      await produceEvents(brokers, input, 6, events.slice(i, i + 600))
      await sleep(300)
    }
    await waitFor('the zombie to have stalled', () => zombie.stalled, 30_000)
    await waitFor(
      'the group to commit every input and repartition record',
      () => groupCaughtUp(brokers, appId, [input, `${appId}-by-group-repartition`]),
      120_000,
      1000
    )
    await waitFor('the zombie to be back with a new membership', () => zombie.runningTasks.length > 0 && zombie.status?.memberId !== memberBefore, 60_000)
    // When it woke up, its transaction (offsets under the generation it had lost) was refused.
    expect(zombie.failedTransactions).toBeGreaterThan(0)
    expect(diffCounts(expectedCounts(events), await readLatestCounts(brokers, output))).toEqual([])
  }, 240_000)
})
