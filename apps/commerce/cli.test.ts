import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { generateCommerceRecords } from './generator.ts'
import { commerceSimulatorUsage, parseCommerceSimulatorArgs, readCommerceDataset, runCommerceSimulator } from './simulator.ts'
import { commerceWorkerOptionsFromEnv, commerceWorkerUsage } from './worker.ts'

const dir = mkdtempSync(join(tmpdir(), 'runnel-commerce-cli-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('commerce simulator command line', () => {
  it('applies defaults and reads every flag', () => {
    expect(parseCommerceSimulatorArgs([], {})).toMatchObject({
      brokers: ['127.0.0.1:9092'],
      registryUrl: 'http://127.0.0.1:8081',
      format: 'typed',
      partitions: 6,
      ratePerSecond: 0,
      batchSize: 2000,
      realtime: false,
      topics: { analytics: 'analytics', productSold: 'commerce.product-sold', productRated: 'commerce.product-rated' },
      generator: { seed: 1, events: 100_000, products: 50, categories: 8, meanGapMs: 250 }
    })
    const parsed = parseCommerceSimulatorArgs(
      [
        '--brokers',
        'a:1,b:2',
        '--registry',
        'http://r:1',
        '--format',
        'seed-json',
        '--analytics-topic',
        'an',
        '--count',
        '10',
        '--products',
        '3',
        '--categories',
        '2',
        '--seed',
        '9',
        '--start',
        '2025-11-21T12:00:00Z',
        '--mean-gap',
        '1000',
        '--rate',
        '100',
        '--batch',
        '50',
        '--late',
        '0.5',
        '--out-of-order',
        '0',
        '--recategorize',
        '0.1',
        '--sale-fraction',
        '0.4',
        '--invalid-fraction',
        '0.25',
        '--realtime',
        '--quiet'
      ],
      {}
    )
    expect(parsed).toMatchObject({
      brokers: ['a:1', 'b:2'],
      registryUrl: 'http://r:1',
      format: 'seed-json',
      topics: { analytics: 'an' },
      ratePerSecond: 100,
      batchSize: 50,
      realtime: true,
      progress: null,
      generator: {
        seed: 9,
        events: 10,
        products: 3,
        categories: 2,
        meanGapMs: 1000,
        startMs: 1_763_726_400_000,
        lateFraction: 0.5,
        outOfOrderFraction: 0,
        recategorizeFraction: 0.1,
        saleFraction: 0.4,
        invalidFraction: 0.25
      }
    })
    expect(parseCommerceSimulatorArgs([], { KAFKA_BROKERS: 'k:9', SCHEMA_REGISTRY_URL: 'http://s:2' })).toMatchObject({
      brokers: ['k:9'],
      registryUrl: 'http://s:2'
    })
    expect(parseCommerceSimulatorArgs(['--help'])).toBe('help')
    expect(commerceSimulatorUsage()).toContain('--invalid-fraction')
  })

  it('fails on a bad flag naming it', () => {
    expect(() => parseCommerceSimulatorArgs(['--count', 'many'], {})).toThrow(/--count/)
    expect(() => parseCommerceSimulatorArgs(['--format', 'xml'], {})).toThrow(/--format/)
    expect(() => parseCommerceSimulatorArgs(['--late', '1.5'], {})).toThrow(/--late/)
    expect(() => parseCommerceSimulatorArgs(['--start', 'yesterday'], {})).toThrow(/--start/)
    expect(() => parseCommerceSimulatorArgs(['--brokers', 'nohost'], {})).toThrow(/--brokers/)
    expect(() => parseCommerceSimulatorArgs(['--sold-topic', 'a b'], {})).toThrow(/--sold-topic/)
    expect(() => parseCommerceSimulatorArgs(['--invalid-fraction', '0.1'], {})).toThrow(/--format seed-json/)
    expect(() => parseCommerceSimulatorArgs(['--speed', '3'], {})).toThrow(/--speed/)
    expect(() => parseCommerceSimulatorArgs(['--replay', 'a', '--out', 'b'], {})).toThrow(/--replay and --out/)
  })

  it('writes a dataset, invalid records included, that --replay reads back identically', async () => {
    const file = join(dir, 'dataset.jsonl')
    const options = parseCommerceSimulatorArgs(
      ['--format', 'seed-json', '--count', '400', '--seed', '4', '--start', '1763726400000', '--invalid-fraction', '0.1', '--out', file],
      {}
    )
    if (options === 'help') throw new Error('unexpected help')
    const result = await runCommerceSimulator(options)
    expect(result.sold + result.rated).toBe(400)
    expect(result.invalid).toBeGreaterThan(10)
    const replayed = []
    for await (const record of readCommerceDataset(file)) replayed.push(record)
    expect(replayed).toEqual(generateCommerceRecords({ seed: 4, events: 400, startMs: 1_763_726_400_000, invalidFraction: 0.1 }))
  })

  it('names the line and field of a bad dataset record', async () => {
    const file = join(dir, 'bad.jsonl')
    writeFileSync(
      file,
      [
        '{"kind":"rated","value":{"product_id":1,"product_name":"A","rating":4,"category":"F","timestamp":5}}',
        '',
        '{"kind":"sold","value":{"product_id":1,"product_name":"A","units":0,"amount_cents":5,"timestamp":5}}'
      ].join('\n')
    )
    const read = async (): Promise<void> => {
      for await (const _ of readCommerceDataset(file)) {
        /* drain */
      }
    }
    await expect(read()).rejects.toThrow(`${file}:3: value.units must be an integer from 1 to 2^31 - 1`)
    writeFileSync(file, '{"kind":"returned"}\n')
    await expect(read()).rejects.toThrow(`${file}:1: kind must be sold, rated or invalid`)
  })
})

describe('commerce worker environment', () => {
  it('reads the environment with the defaults of the contract', () => {
    expect(commerceWorkerOptionsFromEnv({})).toEqual({ brokers: ['127.0.0.1:9092'], registryUrl: 'http://127.0.0.1:8081', topics: {} })
    expect(
      commerceWorkerOptionsFromEnv({
        KAFKA_BROKERS: 'a:1, b:2',
        INSTANCE_ID: 'w1',
        STATE_DIR: '/tmp/s',
        METRICS_PORT: '9400',
        COMMERCE_GRACE_MS: '10000',
        CACHE_MAX_BYTES: '0',
        COMMERCE_SALES_TOPIC: 'sales-x',
        COMMERCE_RETENTION_MS: '3600000',
        COMMERCE_BRIDGE: 'false',
        PROCESSING_GUARANTEE: 'exactly_once_v2'
      })
    ).toMatchObject({
      brokers: ['a:1', 'b:2'],
      instanceId: 'w1',
      stateDir: '/tmp/s',
      metricsPort: 9400,
      graceMs: 10_000,
      cacheMaxBytes: 0,
      topics: { sales1h: 'sales-x' },
      outputRetentionMs: 3_600_000,
      bridge: false,
      processingGuarantee: 'exactly_once_v2'
    })
    expect(commerceWorkerUsage()).toContain('COMMERCE_TYPED_DLQ_TOPIC')
  })

  it('fails on a bad variable naming it', () => {
    expect(() => commerceWorkerOptionsFromEnv({ METRICS_PORT: 'x' })).toThrow(/METRICS_PORT/)
    expect(() => commerceWorkerOptionsFromEnv({ KAFKA_BROKERS: 'nohost' })).toThrow(/KAFKA_BROKERS/)
    expect(() => commerceWorkerOptionsFromEnv({ SCHEMA_REGISTRY_URL: 'registry:8081' })).toThrow(/SCHEMA_REGISTRY_URL/)
    expect(() => commerceWorkerOptionsFromEnv({ COMMERCE_SALES_TOPIC: 'bad topic' })).toThrow(/COMMERCE_SALES_TOPIC/)
    expect(() => commerceWorkerOptionsFromEnv({ COMMERCE_CATEGORY_RATINGS_TOPIC: 'commerce.sales.1h' })).toThrow(/topics/)
    expect(() => commerceWorkerOptionsFromEnv({ COMMERCE_STORE_RETENTION_MS: '1000' })).toThrow(/COMMERCE_STORE_RETENTION_MS/)
    expect(() => commerceWorkerOptionsFromEnv({ COMMERCE_TYPED_DLQ_TOPIC: 'a b' })).toThrow(/COMMERCE_TYPED_DLQ_TOPIC/)
    expect(() => commerceWorkerOptionsFromEnv({ COMMERCE_BRIDGE: 'maybe' })).toThrow(/COMMERCE_BRIDGE/)
    expect(() => commerceWorkerOptionsFromEnv({ PROCESSING_GUARANTEE: 'maybe' })).toThrow(/PROCESSING_GUARANTEE/)
  })
})
