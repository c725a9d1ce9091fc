/**
 * `npm start` as real processes on the test broker (KAFKA_BROKERS, so it starts no Kafka of its own),
 * every name prefixed (RUNNEL_PREFIX) and every port chosen free: a first start through npm backfills
 * the empty traffic input up to now and not beyond, with late drops of the order of the simulator's
 * late fraction; SIGKILLed children are restarted; SIGINT to npm stops every process in reverse order
 * and frees every port; a second start (node dev/start.ts) writes no history again (the per-minute
 * counts before the first stop are unchanged); SIGKILL of dev/start.ts takes its children with it.
 *
 * Everything waits for conditions with generous deadlines: nothing asserts on how long a step took.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { readTopicToEnd } from '../apps/shared/index.ts'
import { kafkaBrokers, uniqueName } from './support/kafka.ts'
import { waitFor } from './fixtures/runtime-helpers.ts'

const root = resolve(import.meta.dirname, '..')
const MINUTE_MS = 60_000

/** A running `npm start` (or `node dev/start.ts`): its output lines and the pids it reported. */
class Stack {
  readonly lines: string[] = []
  readonly process: ChildProcess
  exited = false

  constructor(command: string, args: readonly string[], env: NodeJS.ProcessEnv) {
    this.process = spawn(command, args, { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] })
    this.process.once('exit', () => {
      this.exited = true
    })
    for (const stream of [this.process.stdout, this.process.stderr]) {
      let pending = ''
      stream?.on('data', (chunk: Buffer) => {
        const parts = (pending + chunk.toString()).split('\n')
        pending = parts.pop() ?? ''
        this.lines.push(...parts)
      })
    }
  }

  has(pattern: RegExp): boolean {
    return this.lines.some((l) => pattern.test(l))
  }

  /** Pids of every run of the service `name` (from the supervisor's "started" lines). */
  pids(name: string): number[] {
    const re = new RegExp(`^runnel: ${name} started \\(pid (\\d+)\\)`)
    return this.lines.flatMap((l) => {
      const m = re.exec(l)
      return m === null ? [] : [Number(m[1])]
    })
  }

  /** Every pid the stack reported: the supervisor (dev/start.ts) and each run of each child. */
  allPids(): number[] {
    return this.lines.flatMap((l) => {
      const m = /^runnel: (?:npm start: supervisor pid (\d+)|\S+ started \(pid (\d+)\))/.exec(l)
      return m === null ? [] : [Number(m[1] ?? m[2])]
    })
  }

  supervisorPid(): number | undefined {
    return this.allPids()[0]
  }

  tail(n = 40): string {
    return this.lines.slice(-n).join('\n')
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

function portFree(port: number): Promise<boolean> {
  return new Promise((done) => {
    const server = createServer()
    server.once('error', () => done(false))
    server.listen(port, '127.0.0.1', () => server.close(() => done(true)))
  })
}

/** `count` consecutive free ports from a random base (so that two runs of the file do not collide). */
async function freePorts(count: number): Promise<number[]> {
  for (;;) {
    const base = 20_000 + Math.floor(Math.random() * 30_000)
    const ports = Array.from({ length: count }, (_, i) => base + i)
    if ((await Promise.all(ports.map(portFree))).every(Boolean)) return ports
  }
}

/** Records per minute of event time (Kafka timestamp) in `topic`. */
async function perMinute(brokers: string[], topic: string): Promise<Map<number, number>> {
  const counts = new Map<number, number>()
  for (const r of await readTopicToEnd(brokers, topic)) {
    const minute = Math.floor(r.timestampMs / MINUTE_MS) * MINUTE_MS
    counts.set(minute, (counts.get(minute) ?? 0) + 1)
  }
  return counts
}

/** Sum of a Prometheus metric over the series whose labels match `labels` (e.g. `reason="late"`). */
async function metricSum(port: number, name: string, labels = ''): Promise<number> {
  const text = await fetch(`http://127.0.0.1:${port}/metrics`).then(
    (r) => r.text(),
    () => ''
  )
  let sum = 0
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) || !line.includes(labels)) continue
    sum += Number(line.slice(line.lastIndexOf(' ') + 1))
  }
  return sum
}

const brokers = kafkaBrokers()
const prefix = `${uniqueName('start')}-`
const observations = `${prefix}traffic.observations`
const stateDir = mkdtempSync(join(tmpdir(), 'runnel-start-'))
const [apiPort, registryPort, metricsPort] = await freePorts(5).then((p) => [p[0], p[1], p[2]] as [number, number, number])
const ports = [apiPort, registryPort, metricsPort, metricsPort + 1, metricsPort + 2]
const nodeBin = dirname(process.execPath)
const env: NodeJS.ProcessEnv = {
  ...process.env,
  PATH: `${nodeBin}:${process.env.PATH ?? ''}`,
  KAFKA_BROKERS: brokers.join(','),
  RUNNEL_PREFIX: prefix,
  PORT: String(apiPort),
  REGISTRY_PORT: String(registryPort),
  RUNNEL_METRICS_PORT: String(metricsPort),
  RUNNEL_STATE_DIR: stateDir,
  RUNNEL_DASHBOARD_BUILD: 'false',
  // An hour of shop history is not what this file is about.
  RUNNEL_SHOP_BACKFILL_MS: String(5 * MINUTE_MS),
  LOG_LEVEL: 'warn'
}
const npm = existsSync(join(nodeBin, 'npm')) ? join(nodeBin, 'npm') : 'npm'
const stacks: Stack[] = []

afterAll(async () => {
  // Whatever a failed test left running.
  for (const stack of stacks) for (const pid of stack.allPids()) if (alive(pid)) process.kill(pid, 'SIGKILL')
  rmSync(stateDir, { recursive: true, force: true })
})

describe('npm start', () => {
  let first: Stack
  let firstCounts = new Map<number, number>()
  let firstNewestMs = 0
  const startedAt = Date.now()

  it('backfills an empty input topic with the last 30 minutes, up to now and never beyond, and late drops stay of the order of the late fraction', async () => {
    first = new Stack(npm, ['start'], env)
    stacks.push(first)
    await waitFor('the first stack to be ready', () => first.exited || first.has(/^runnel: ready$/), 180_000, 500)
    expect(first.exited, first.tail()).toBe(false)
    expect(first.has(/traffic simulator: .* empty: backfilling from/), first.tail()).toBe(true)
    // The backfill is done once the simulator sends in real time: records newer than the start of the test.
    let counts = new Map<number, number>()
    await waitFor(
      'the simulator to reach real time',
      async () => {
        counts = await perMinute(brokers, observations)
        return Math.max(...counts.keys(), 0) >= Math.floor(startedAt / MINUTE_MS) * MINUTE_MS + MINUTE_MS
      },
      180_000,
      2000
    )
    const minutes = [...counts.keys()].sort((a, b) => a - b)
    expect(minutes[0]).toBeGreaterThanOrEqual(Math.floor((startedAt - 30 * MINUTE_MS) / MINUTE_MS) * MINUTE_MS)
    expect(minutes[0]).toBeLessThanOrEqual(startedAt - 29 * MINUTE_MS)
    const records = await readTopicToEnd(brokers, observations)
    const readAt = Date.now()
    // Never beyond now: no record's event time is later than the moment it was read.
    expect(records.filter((r) => r.timestampMs > readAt)).toEqual([])

    // Once the two workers have taken those records, late drops are a small share of them: the
    // simulator delivers 0.1% of its observations 95-300 s late, and each one is dropped by up to
    // seven windows and sessions (the overlap of backfill and live data once dropped thousands).
    const taken = async (): Promise<number> =>
      (await metricSum(metricsPort, 'runnel_records_processed_total')) + (await metricSum(metricsPort + 1, 'runnel_records_processed_total'))
    await waitFor('the traffic workers to take the records read', async () => (await taken()) >= records.length, 180_000, 2000)
    const late =
      (await metricSum(metricsPort, 'runnel_dropped_records', 'reason="late"')) + (await metricSum(metricsPort + 1, 'runnel_dropped_records', 'reason="late"'))
    process.stdout.write(`start-stack: ${records.length} input records, ${late} late drops (${((100 * late) / records.length).toFixed(2)}%)\n`)
    expect(late).toBeLessThan(0.01 * records.length)
  }, 240_000)

  it('restarts a SIGKILLed worker and a SIGKILLed query API, and the stack goes on', async () => {
    // Nothing exited on its own so far: a crash here would be a bug, not a hand-over to restart.
    expect(
      first.lines.filter((l) => /^runnel: \S+ \(pid \d+\) exited/.test(l)),
      first.tail(80)
    ).toEqual([])
    const [worker] = first.pids('worker-1')
    const [api] = first.pids('query-api')
    expect(worker).toBeDefined()
    expect(api).toBeDefined()
    process.kill(worker as number, 'SIGKILL')
    process.kill(api as number, 'SIGKILL')
    await waitFor('both to be restarted', () => first.pids('worker-1').length === 2 && first.pids('query-api').length === 2, 60_000, 500)
    expect(first.has(/^runnel: worker-1 \(pid \d+\) exited with SIGKILL .* restart 1 in 1 s$/), first.tail()).toBe(true)
    expect(first.has(/^runnel: query-api \(pid \d+\) exited with SIGKILL .* restart 1 in 1 s$/), first.tail()).toBe(true)
    await waitFor(
      'the restarted query API to be ready',
      () =>
        fetch(`http://127.0.0.1:${apiPort}/readyz`).then(
          (r) => r.ok,
          () => false
        ),
      120_000,
      1000
    )
    expect([...first.pids('worker-1'), ...first.pids('query-api')].filter(alive)).toHaveLength(2)
  }, 200_000)

  // SIGINT, the signal of Ctrl-C, is the one that stopped nothing before `exec` in package.json's
  // start script (npm's shell kept waiting); SIGTERM takes the same path to dev/start.ts.
  it('SIGINT to npm stops every process it started, simulators first and the registry last, and frees every port', async () => {
    const pids = first.allPids()
    expect(pids.length).toBeGreaterThanOrEqual(7)
    first.process.kill('SIGINT')
    await waitFor('every process of the stack to exit', () => pids.every((pid) => !alive(pid)), 90_000, 500)
    await waitFor('every port to be free', async () => (await Promise.all(ports.map(portFree))).every(Boolean), 30_000, 500)
    const stopped = first.lines.flatMap((l) => /^runnel: stopped (.+)$/.exec(l)?.[1] ?? [])
    expect(stopped).toEqual(['shop-simulator', 'simulator', 'query-api', 'commerce-worker', 'worker-2', 'worker-1', 'schema registry'])
    firstCounts = await perMinute(brokers, observations)
    firstNewestMs = Math.max(...(await readTopicToEnd(brokers, observations)).map((r) => r.timestampMs))
  }, 150_000)

  let second: Stack
  it('a second start writes no history again: the minutes before the first stop keep their counts', async () => {
    second = new Stack(process.execPath, ['dev/start.ts'], env)
    stacks.push(second)
    await waitFor('the second stack to be ready', () => second.exited || second.has(/^runnel: ready$/), 180_000, 500)
    expect(second.has(/traffic simulator: .* has data up to .*: continuing from/), second.tail()).toBe(true)
    expect(second.has(/backfilling/), second.tail()).toBe(false)
    // Wait for live records of the second start, then compare every minute the first start completed.
    let counts = new Map<number, number>()
    await waitFor(
      'live records of the second start',
      async () => {
        counts = await perMinute(brokers, observations)
        return Math.max(...counts.keys()) > firstNewestMs
      },
      180_000,
      2000
    )
    const lastFullMinute = Math.floor(firstNewestMs / MINUTE_MS) * MINUTE_MS
    const before = (m: Map<number, number>): Array<[number, number]> => [...m].filter(([minute]) => minute < lastFullMinute).sort((a, b) => a[0] - b[0])
    expect(before(firstCounts).length).toBeGreaterThanOrEqual(29)
    expect(before(counts)).toEqual(before(firstCounts))
  }, 240_000)

  it('SIGKILL of dev/start.ts takes every child with it', async () => {
    const supervisor = second.supervisorPid()
    const children = second.allPids().slice(1)
    expect(supervisor).toBeDefined()
    expect(children.length).toBeGreaterThanOrEqual(6)
    process.kill(supervisor as number, 'SIGKILL')
    await waitFor('every child to exit', () => children.every((pid) => !alive(pid)), 90_000, 500)
    await waitFor('every port to be free', async () => (await Promise.all(ports.map(portFree))).every(Boolean), 30_000, 500)
  }, 120_000)
})
