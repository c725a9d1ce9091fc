import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { generateObservations } from './generator.ts'
import { parseSimulatorArgs, readReplayFile, runSimulator, simulatorUsage } from './simulator.ts'
import { trafficWorkerOptionsFromEnv } from './worker.ts'

const dir = mkdtempSync(join(tmpdir(), 'runnel-traffic-cli-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('simulator command line', () => {
  it('applies defaults and reads every flag', () => {
    const defaults = parseSimulatorArgs([], {})
    expect(defaults).toMatchObject({
      brokers: ['127.0.0.1:9092'],
      registryUrl: 'http://127.0.0.1:8081',
      topic: 'traffic.observations',
      partitions: 6,
      ratePerSecond: 0,
      batchSize: 2000,
      realtime: false,
      generator: { seed: 1, sensors: 20, observations: 100_000 }
    })
    const parsed = parseSimulatorArgs(
      [
        '--brokers',
        'a:1,b:2',
        '--registry',
        'http://r:1',
        '--topic',
        't',
        '--count',
        '10',
        '--sensors',
        '3',
        '--seed',
        '9',
        '--start',
        '2025-11-21T12:00:00Z',
        '--rate',
        '100',
        '--batch',
        '50',
        '--late',
        '0.5',
        '--malformed',
        '0',
        '--quiet'
      ],
      {}
    )
    expect(parsed).toMatchObject({
      brokers: ['a:1', 'b:2'],
      registryUrl: 'http://r:1',
      topic: 't',
      ratePerSecond: 100,
      batchSize: 50,
      progress: null,
      generator: { seed: 9, sensors: 3, observations: 10, startMs: 1_763_726_400_000, lateFraction: 0.5, malformedFraction: 0 }
    })
    expect(parseSimulatorArgs([], { KAFKA_BROKERS: 'k:9', SCHEMA_REGISTRY_URL: 'http://s:2' })).toMatchObject({ brokers: ['k:9'], registryUrl: 'http://s:2' })
    expect(parseSimulatorArgs(['--help'])).toBe('help')
    expect(simulatorUsage()).toContain('--replay')
  })

  it('fails on a bad flag naming it', () => {
    expect(() => parseSimulatorArgs(['--count', 'many'], {})).toThrow(/--count/)
    expect(() => parseSimulatorArgs(['--late', '1.5'], {})).toThrow(/--late/)
    expect(() => parseSimulatorArgs(['--start', 'yesterday'], {})).toThrow(/--start/)
    expect(() => parseSimulatorArgs(['--brokers', 'nohost'], {})).toThrow(/--brokers/)
    expect(() => parseSimulatorArgs(['--speed', '3'], {})).toThrow(/--speed/)
    expect(() => parseSimulatorArgs(['--replay', 'a', '--out', 'b'], {})).toThrow(/--replay and --out/)
  })

  it('writes a dataset that --replay reads back identically', async () => {
    const file = join(dir, 'dataset.jsonl')
    const options = parseSimulatorArgs(['--count', '500', '--seed', '4', '--start', '1763726400000', '--out', file], {})
    if (options === 'help') throw new Error('unexpected help')
    const result = await runSimulator(options)
    expect(result.observations).toBe(500)
    const replayed = []
    for await (const record of readReplayFile(file)) replayed.push(record.value)
    expect(replayed).toEqual(generateObservations({ seed: 4, observations: 500, startMs: 1_763_726_400_000 }))
  })

  it('names the line and field of a bad replay record', async () => {
    const file = join(dir, 'bad.jsonl')
    writeFileSync(
      file,
      '{"sensor_id":"s-1","traveler_id":"t","traveler_type":"CAR","x":1,"y":2,"timestamp":5}\n\n{"sensor_id":"s-1","traveler_id":"t","x":"1","y":2,"timestamp":5}\n'
    )
    const read = async (): Promise<void> => {
      for await (const _ of readReplayFile(file)) {
        /* drain */
      }
    }
    await expect(read()).rejects.toThrow(`${file}:3: x must be a finite number`)
  })
})

describe('worker environment', () => {
  it('reads the environment with the defaults of the contract', () => {
    expect(trafficWorkerOptionsFromEnv({})).toEqual({ brokers: ['127.0.0.1:9092'], registryUrl: 'http://127.0.0.1:8081', topics: {} })
    expect(
      trafficWorkerOptionsFromEnv({
        KAFKA_BROKERS: 'a:1, b:2',
        INSTANCE_ID: 'w1',
        STATE_DIR: '/tmp/s',
        METRICS_PORT: '9400',
        TRAFFIC_GRACE_MS: '10000',
        TRAFFIC_SESSIONS_TOPIC: 'sessions-x',
        TRAFFIC_RETENTION_MS: '3600000'
      })
    ).toMatchObject({
      brokers: ['a:1', 'b:2'],
      instanceId: 'w1',
      stateDir: '/tmp/s',
      metricsPort: 9400,
      graceMs: 10_000,
      topics: { sessions: 'sessions-x' },
      outputRetentionMs: 3_600_000
    })
  })

  it('fails on a bad variable naming it', () => {
    expect(() => trafficWorkerOptionsFromEnv({ METRICS_PORT: 'x' })).toThrow(/METRICS_PORT/)
    expect(() => trafficWorkerOptionsFromEnv({ KAFKA_BROKERS: 'nohost' })).toThrow(/KAFKA_BROKERS/)
    expect(() => trafficWorkerOptionsFromEnv({ TRAFFIC_STATS_1M_TOPIC: 'bad topic' })).toThrow(/TRAFFIC_STATS_1M_TOPIC/)
    expect(() => trafficWorkerOptionsFromEnv({ TRAFFIC_STORE_RETENTION_MS: '1000' })).toThrow(/TRAFFIC_STORE_RETENTION_MS/)
    expect(() => trafficWorkerOptionsFromEnv({ PROCESSING_GUARANTEE: 'maybe' })).toThrow(/PROCESSING_GUARANTEE/)
  })
})
