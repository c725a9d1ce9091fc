import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { pino } from 'pino'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { stringSerde } from '../schemas/index.ts'
import { StreamsBuilder } from '../topology/index.ts'
import { resolveConfig, streamsConfigSchema, type StreamsConfig } from './config.ts'
import { StreamsConfigError } from './errors.ts'
import { KafkaStreams } from './kafka-streams.ts'
import { markdownTable, optionDocs, tableIn } from './option-docs.ts'

const base: StreamsConfig = { applicationId: 'app', bootstrapServers: 'localhost:9092' }

function optionOf(config: Record<string, unknown>): string | undefined {
  try {
    resolveConfig(config as unknown as StreamsConfig)
    return undefined
  } catch (err) {
    expect(err).toBeInstanceOf(StreamsConfigError)
    expect((err as Error).message).toContain(`"${(err as StreamsConfigError).option}"`)
    return (err as StreamsConfigError).option
  }
}

describe('resolveConfig', () => {
  it('applies Kafka Streams defaults, with a shorter commit interval under exactly-once', () => {
    const alos = resolveConfig(base)
    expect(alos.processingGuarantee).toBe('at_least_once')
    expect(alos.commitIntervalMs).toBe(30_000)
    expect(alos.cacheMaxBytes).toBe(10 * 1024 * 1024)
    expect(alos.bootstrapServers).toEqual(['localhost:9092'])
    expect(alos.deserializationErrorPolicy).toBe('log-and-continue')
    expect(alos.metricsPort).toBe(0)
    expect(alos.taskTimeoutMs).toBe(300_000)
    expect(alos.deliveryTimeoutMs).toBe(120_000)
    expect(alos.apiTimeoutMs).toBe(60_000)
    expect(alos.metricsHost).toBe('127.0.0.1')
    const eos = resolveConfig({ ...base, processingGuarantee: 'exactly_once_v2', bootstrapServers: ['a:1', 'b:2'] })
    expect(eos.commitIntervalMs).toBe(100)
    expect(eos.exactlyOnce).toBe(true)
    expect(eos.bootstrapServers).toEqual(['a:1', 'b:2'])
  })

  it('derives the heartbeat interval and rebalance timeout from the session timeout', () => {
    const config = resolveConfig({ ...base, sessionTimeoutMs: 3000 })
    expect(config.heartbeatIntervalMs).toBe(1000)
    expect(config.rebalanceTimeoutMs).toBe(30_000)
  })

  it('names the option in every error', () => {
    expect(optionOf({ ...base, applicationId: '' })).toBe('applicationId')
    expect(optionOf({ ...base, applicationId: 'bad id' })).toBe('applicationId')
    expect(optionOf({ applicationId: 'app' })).toBe('bootstrapServers')
    expect(optionOf({ ...base, bootstrapServers: 'no-port' })).toBe('bootstrapServers')
    expect(optionOf({ ...base, processingGuarantee: 'exactly_once' })).toBe('processingGuarantee')
    expect(optionOf({ ...base, commitIntervalMs: -1 })).toBe('commitIntervalMs')
    expect(optionOf({ ...base, commitIntervalMs: 1.5 })).toBe('commitIntervalMs')
    expect(optionOf({ ...base, cacheMaxBytes: '10MB' })).toBe('cacheMaxBytes')
    expect(optionOf({ ...base, maxTaskIdleMs: -2 })).toBe('maxTaskIdleMs')
    expect(optionOf({ ...base, sessionTimeoutMs: 3000, heartbeatIntervalMs: 3000 })).toBe('heartbeatIntervalMs')
    expect(optionOf({ ...base, sessionTimeoutMs: 10_000, rebalanceTimeoutMs: 5000 })).toBe('rebalanceTimeoutMs')
    expect(optionOf({ ...base, metricsPort: 70_000 })).toBe('metricsPort')
    expect(optionOf({ ...base, taskTimeoutMs: -1 })).toBe('taskTimeoutMs')
    expect(optionOf({ ...base, deliveryTimeoutMs: 10 })).toBe('deliveryTimeoutMs')
    expect(optionOf({ ...base, apiTimeoutMs: 0 })).toBe('apiTimeoutMs')
    expect(optionOf({ ...base, metricsHost: '' })).toBe('metricsHost')
    expect(optionOf({ ...base, deserializationErrorPolicy: 'ignore' })).toBe('deserializationErrorPolicy')
    expect(optionOf({ ...base, instanceId: 'has space' })).toBe('instanceId')
    expect(optionOf({ ...base, clientSupplier: {} })).toBe('clientSupplier')
    expect(optionOf({ ...base, commitInterval: 100 })).toBe('commitInterval')
    expect(optionOf({ ...base, logLevel: 'loud' })).toBe('logLevel')
    expect(optionOf({ ...base, clock: 5 })).toBe('clock')
    expect(optionOf({ ...base, logger: {} })).toBe('logger')
  })

  it('says what it expected and what it got', () => {
    expect(() => resolveConfig({ ...base, commitIntervalMs: 1.5 })).toThrow('invalid option "commitIntervalMs": must be an integer >= 0, got 1.5')
    expect(() => resolveConfig({ ...base, metricsPort: 70_000 })).toThrow('invalid option "metricsPort": must be an integer in [0, 65535], got 70000')
    expect(() => resolveConfig({ ...base, bootstrapServers: 'no-port' })).toThrow(
      'invalid option "bootstrapServers": must be a non-empty list of host:port, got "no-port"'
    )
    expect(() => resolveConfig({ ...base, processingGuarantee: 'once' as never })).toThrow(
      `invalid option "processingGuarantee": must be one of 'at_least_once', 'exactly_once_v2', got "once"`
    )
    expect(() => resolveConfig({ ...base, sessionTimeoutMs: 3000, heartbeatIntervalMs: 3000 })).toThrow(
      'invalid option "heartbeatIntervalMs": must be lower than sessionTimeoutMs (3000), got 3000'
    )
  })

  it('names an unknown key before any bad value, listing the known options', () => {
    expect(() => resolveConfig({ ...base, cacheMaxBytes: -1, commitInterval: 100 } as StreamsConfig)).toThrow(
      /^invalid option "commitInterval": is not a known option \(known: applicationId, bootstrapServers, .*commitIntervalMs, /
    )
  })

  describe('reads no environment variable (entry points pass them)', () => {
    afterEach(() => {
      vi.unstubAllEnvs()
    })

    it('defaults the state folder to ./.state and the log level to info whatever STATE_DIR and LOG_LEVEL say', () => {
      vi.stubEnv('STATE_DIR', '/elsewhere')
      vi.stubEnv('LOG_LEVEL', 'debug')
      const config = resolveConfig(base)
      expect(config.stateDir).toBe(resolve('./.state'))
      expect(config.logLevel).toBe('info')
      expect(resolveConfig({ ...base, stateDir: '/s', logLevel: 'warn' })).toMatchObject({ stateDir: '/s', logLevel: 'warn' })
    })
  })
})

describe('KafkaStreams construction', () => {
  const topology = (): ReturnType<StreamsBuilder['build']> => {
    const builder = new StreamsBuilder()
    builder.stream('in', { keySerde: stringSerde, valueSerde: stringSerde }).to('out', { keySerde: stringSerde, valueSerde: stringSerde })
    return builder.build()
  }

  it('fails at construction, before touching Kafka, when an option is invalid', () => {
    expect(() => new KafkaStreams(topology(), { ...base, commitIntervalMs: -5 })).toThrow(/invalid option "commitIntervalMs"/)
    expect(() => new KafkaStreams(topology(), { ...base, processingGuarantee: 'twice' as never })).toThrow(/invalid option "processingGuarantee"/)
  })

  it('starts in state CREATED and closes from there without a cluster', async () => {
    const streams = new KafkaStreams(topology(), { ...base, logger: pino({ level: 'silent' }) })
    const states: string[] = []
    streams.setStateListener((next) => states.push(next))
    expect(streams.state).toBe('CREATED')
    expect(streams.status().tasks).toEqual([])
    expect(await streams.close()).toBe(true)
    expect(states).toEqual(['PENDING_SHUTDOWN', 'NOT_RUNNING'])
    await expect(streams.start()).rejects.toThrow(/needs state CREATED/)
  })

  it('refuses a plan built for another application id', () => {
    const plan = topology().build({ applicationId: 'other' })
    expect(() => new KafkaStreams(plan, base)).toThrow(/built for application other/)
  })
})

describe('the runtime README', () => {
  it('lists every option with its default and doc, as streamsConfigSchema declares them', () => {
    const rows = optionDocs(streamsConfigSchema).map((o) => [`\`${o.option}\``, o.defaultText, o.doc])
    const expected = markdownTable(['option', 'default', 'meaning'], rows)
    const readme = readFileSync(new URL('./README.md', import.meta.url), 'utf8')
    expect(tableIn(readme, expected[0] ?? ''), 'runtime/README.md "Options" table (paste the expected lines)').toEqual(expected)
  })
})
