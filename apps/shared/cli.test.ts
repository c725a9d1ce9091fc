import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { envReader, flagsUsage, parseFlags, withoutUndefined, type FlagSpec } from './cli.ts'
import {
  AppConfigError,
  checkDistinctTopics,
  durationMsSchema,
  parseSettings,
  settingsHelp,
  settingVariable,
  settingVariables,
  topicsSchema
} from './settings.ts'
import { checkSettingsFromEnv, streamsConfigOf, streamsOptionsFromEnv, topicsFromEnv } from './streams-worker.ts'

const FLAGS = {
  count: { type: 'string', help: 'how many' },
  start: { type: 'string', help: 'when' },
  late: { type: 'string', help: 'a fraction' },
  topic: { type: 'string', help: 'where' },
  quiet: { type: 'boolean', help: 'silence' },
  help: { type: 'boolean', help: 'this help' }
} as const satisfies Record<string, FlagSpec>

describe('flags', () => {
  it('reads every kind of flag with its default', () => {
    const read = parseFlags(FLAGS, ['--count', '12', '--start', '2025-11-21T12:00:00Z', '--late', '0.25', '--quiet'])
    if (read === 'help') throw new Error('unexpected help')
    expect(read.integer('count', 5, 0)).toBe(12)
    expect(read.epochMs('start')).toBe(1_763_726_400_000)
    expect(read.fraction('late')).toBe(0.25)
    expect(read.topic('topic', 'fallback.topic')).toBe('fallback.topic')
    expect(read.given('quiet')).toBe(true)
    const none = parseFlags(FLAGS, [])
    if (none === 'help') throw new Error('unexpected help')
    expect([none.integer('count', 5, 0), none.epochMs('start'), none.fraction('late'), none.given('quiet')]).toEqual([5, undefined, undefined, false])
    expect(parseFlags(FLAGS, ['--start', '1763726400000', '--help'])).toBe('help')
  })

  it('names the flag of a bad value, and unknown flags', () => {
    const read = (args: string[]): ReturnType<typeof parseFlags<keyof typeof FLAGS>> => parseFlags(FLAGS, args)
    const bad = (args: string[], use: (r: Exclude<ReturnType<typeof read>, 'help'>) => unknown): unknown => {
      const r = read(args)
      if (r === 'help') throw new Error('unexpected help')
      return use(r)
    }
    expect(() => bad(['--count', 'x'], (r) => r.integer('count', 1, 0))).toThrow('--count must be an integer >= 0, got "x"')
    expect(() => bad(['--count', '11'], (r) => r.integer('count', 1, 0, 10))).toThrow('--count must be an integer from 0 to 10')
    expect(() => bad(['--late', '-0.1'], (r) => r.fraction('late'))).toThrow(/--late/)
    expect(() => bad(['--start', 'soon'], (r) => r.epochMs('start'))).toThrow(/--start/)
    expect(() => bad(['--topic', 'a b'], (r) => r.topic('topic', 't'))).toThrow(/--topic/)
    expect(() => read(['--speed', '3'])).toThrow(/--speed.*see --help/)
    expect(flagsUsage('title', FLAGS).split('\n')).toContain('  --quiet  silence')
  })
})

describe('worker environment', () => {
  it('reads the common variables and leaves unset ones out', () => {
    expect(streamsOptionsFromEnv({})).toEqual({ brokers: ['127.0.0.1:9092'], registryUrl: 'http://127.0.0.1:8081' })
    expect(streamsOptionsFromEnv({ KAFKA_BROKERS: 'a:1,b:2', COMMIT_INTERVAL_MS: '200', PROCESSING_GUARANTEE: 'exactly_once_v2', STATE_DIR: ' ' })).toEqual({
      brokers: ['a:1', 'b:2'],
      registryUrl: 'http://127.0.0.1:8081',
      commitIntervalMs: 200,
      processingGuarantee: 'exactly_once_v2'
    })
    expect(() => streamsOptionsFromEnv({ REPLICATION_FACTOR: '-1' })).toThrow(/REPLICATION_FACTOR/)
    expect(() => streamsOptionsFromEnv({ PROCESSING_GUARANTEE: 'exactly_once' })).toThrow(/PROCESSING_GUARANTEE/)
    expect(streamsOptionsFromEnv({ LOG_LEVEL: 'warn', STATE_DIR: '/s' })).toMatchObject({ logLevel: 'warn', stateDir: '/s' })
    expect(() => streamsOptionsFromEnv({ LOG_LEVEL: 'loud' })).toThrow(/^LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent, got "loud"/)
    expect(() => envReader<'FLAG'>({ FLAG: 'yes' }).boolean('FLAG')).toThrow(/FLAG must be true or false/)
    expect(topicsFromEnv(envReader({ IN_TOPIC: 'in-x', OUT_TOPIC: '' }), { IN_TOPIC: 'input', OUT_TOPIC: 'output' })).toEqual({ input: 'in-x' })
  })

  it('names the variable behind a bad setting', () => {
    const fail = (option: string, message: string): AppConfigError => new AppConfigError('TEST_BAD_OPTION', option, message)
    const schema = z.object({
      topics: topicsSchema({ input: 'in' }, { input: 'IN_TOPIC' }, { input: 'input topic' }).prefault({}),
      graceMs: durationMsSchema(0).default(0).meta(settingVariable('GRACE_MS')).describe('grace, ms')
    })
    expect(() => checkSettingsFromEnv(() => parseSettings(schema, { graceMs: -1 }, fail), { graceMs: 'GRACE_MS' })).toThrow(
      /^GRACE_MS: graceMs: must be an integer number of ms >= 0, got -1/
    )
    expect(() => checkSettingsFromEnv(() => parseSettings(schema, { topics: { output: 'x' } }, fail), {})).toThrow(
      /topics\.output: unknown topic role; known: input/
    )
    expect(() => parseSettings(schema, { topics: { input: 'a b' } }, fail)).toThrow(/^topics\.input: must be 1-249 characters/)
    expect(() => checkDistinctTopics(['a', 'b', 'a'], {}, fail)).toThrow(/distinct/)
    expect(parseSettings(schema, { brokers: ['a:1'] }, fail)).toEqual({ topics: { input: 'in' }, graceMs: 0 })
    expect(settingVariables(schema)).toEqual({ topics: { IN_TOPIC: 'input' }, integers: { graceMs: 'GRACE_MS' }, texts: {}, booleans: {} })
    expect(settingsHelp(schema)).toEqual({ IN_TOPIC: 'input topic (default in)', GRACE_MS: 'grace, ms (default 0)' })
    expect(() =>
      checkSettingsFromEnv(() => {
        throw new RangeError('other')
      }, {})
    ).toThrow(RangeError)
  })

  it('makes the runtime configuration, the options winning over further runtime settings', () => {
    const config = streamsConfigOf(
      { brokers: ['a:1'], registryUrl: 'http://r', instanceId: 'w1', streams: { sessionTimeoutMs: 3000, commitIntervalMs: 5 } },
      { applicationId: 'app', commitIntervalMs: 1000 }
    )
    expect(config).toEqual({
      sessionTimeoutMs: 3000,
      applicationId: 'app',
      bootstrapServers: ['a:1'],
      commitIntervalMs: 1000,
      replicationFactor: 1,
      instanceId: 'w1'
    })
    expect(
      streamsConfigOf({ brokers: ['a:1'], registryUrl: 'http://r', stateDir: '/s', logLevel: 'debug' }, { applicationId: 'app', commitIntervalMs: 1000 })
    ).toMatchObject({ stateDir: '/s', logLevel: 'debug' })
    expect(withoutUndefined({ a: 1, b: undefined })).toEqual({ a: 1 })
  })
})
