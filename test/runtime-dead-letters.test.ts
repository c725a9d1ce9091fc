/**
 * Records that cannot be deserialized, on the real broker. Under the default policy they go to
 * `<app id>-dlq` with headers naming the error, the failing part and the source topic, partition and
 * offset, while the good records around them are processed (here under exactly_once_v2, so the dead
 * letters are committed with the offsets that skip them). Under log-and-fail the instance stops in
 * ERROR with an error naming the record, and stays stopped (no crash loop).
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Producer } from '@platformatic/kafka'
import { pino } from 'pino'
import { afterEach, describe, expect, it } from 'vitest'
import { KafkaStreams } from '../runtime/index.ts'
import { DeadLetterHeaders, DeserializationFailedError, jsonSerde, stringSerde } from '../schemas/index.ts'
import { StreamsBuilder } from '../topology/index.ts'
import { createTopics, kafkaBrokers, uniqueName } from './support/kafka.ts'
import { readTopic, waitFor } from './fixtures/runtime-helpers.ts'

const cleanups: Array<() => Promise<unknown> | void> = []

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

interface Order {
  readonly id: number
  readonly amount: number
}

async function setup(
  policy: 'log-and-continue' | 'log-and-fail'
): Promise<{ appId: string; input: string; output: string; streams: KafkaStreams; send: (values: string[]) => Promise<void> }> {
  const brokers = kafkaBrokers()
  const appId = uniqueName(`rt-dlq-${policy === 'log-and-fail' ? 'fail' : 'continue'}`)
  const input = `${appId}-in`
  const output = `${appId}-out`
  await createTopics(brokers, [
    { name: input, partitions: 2 },
    { name: output, partitions: 2 }
  ])
  const builder = new StreamsBuilder()
  builder
    .stream(input, { keySerde: stringSerde, valueSerde: jsonSerde<Order>() })
    .mapValues((order) => `order ${order.id}: ${order.amount * 2}`)
    .to(output, { keySerde: stringSerde, valueSerde: stringSerde })
  const stateDir = mkdtempSync(join(tmpdir(), 'runnel-rt-dlq-'))
  const streams = new KafkaStreams(builder.build(), {
    applicationId: appId,
    bootstrapServers: brokers,
    stateDir,
    processingGuarantee: 'exactly_once_v2',
    commitIntervalMs: 200,
    sessionTimeoutMs: 6000,
    heartbeatIntervalMs: 500,
    deserializationErrorPolicy: policy,
    statusIntervalMs: 0,
    logger: pino({ level: 'silent' })
  })
  const producer = new Producer({ clientId: 'rt-dlq', bootstrapBrokers: brokers, idempotent: true })
  cleanups.push(async () => {
    await producer.close()
    await streams.close()
    rmSync(stateDir, { recursive: true, force: true })
  })
  const send = async (values: string[]): Promise<void> => {
    // One key: every record on one partition, in order.
    await producer.send({
      messages: values.map((v) => ({
        topic: input,
        partition: 1,
        key: Buffer.from('k'),
        value: Buffer.from(v),
        headers: new Map([[Buffer.from('trace'), Buffer.from('t-1')]])
      }))
    })
  }
  return { appId, input, output, streams, send }
}

describe('records that cannot be deserialized', () => {
  it('go to the dead-letter topic with headers naming the error and the source while the good records around them are processed', async () => {
    const { appId, input, output, streams, send } = await setup('log-and-continue')
    await send(['{"id":1,"amount":10}', '{not json', '{"id":2,"amount":20}', '', '{"id":3,"amount":30}'])
    await streams.start()
    const brokers = kafkaBrokers()
    await waitFor(
      'three outputs and two dead letters',
      async () => (await readTopic(brokers, output)).length === 3 && (await readTopic(brokers, `${appId}-dlq`)).length === 2,
      30_000,
      300
    )
    expect((await readTopic(brokers, output)).map((r) => r.value?.toString())).toEqual(['order 1: 20', 'order 2: 40', 'order 3: 60'])
    const letters = await readTopic(brokers, `${appId}-dlq`)
    expect(letters.map((r) => r.value?.toString())).toEqual(['{not json', ''])
    expect(letters.map((r) => r.key?.toString())).toEqual(['k', 'k'])
    for (const [i, letter] of letters.entries()) {
      expect(letter.headers.get(DeadLetterHeaders.ERROR_CODE)).toBe('SERDE_JSON')
      expect(letter.headers.get(DeadLetterHeaders.ERROR_PART)).toBe('value')
      expect(letter.headers.get(DeadLetterHeaders.TOPIC)).toBe(input)
      expect(letter.headers.get(DeadLetterHeaders.PARTITION)).toBe('1')
      expect(letter.headers.get(DeadLetterHeaders.OFFSET)).toBe(String([1, 3][i]))
      expect(letter.headers.get(DeadLetterHeaders.ERROR_MESSAGE)?.length).toBeGreaterThan(0)
      expect(letter.headers.get('trace')).toBe('t-1')
    }
    const dropped = streams.status().tasks.find((t) => t.partition === 1)?.droppedRecords
    expect(dropped).toEqual({ deserialization: 2 })
  })

  it('stop the instance in ERROR under log-and-fail, naming the record, and it stays stopped', async () => {
    const { input, streams, send } = await setup('log-and-fail')
    const states: string[] = []
    streams.setStateListener((state) => states.push(state))
    await send(['{"id":1,"amount":10}', '{not json'])
    await streams.start()
    await waitFor('state ERROR', () => streams.state === 'ERROR', 30_000, 100)
    expect(streams.error).toBeInstanceOf(DeserializationFailedError)
    expect(streams.error?.message).toContain(`${input}-1 at offset 1`)
    expect(streams.error?.message).toContain('log-and-fail')
    await new Promise((resolve) => setTimeout(resolve, 1500))
    expect(streams.state).toBe('ERROR')
    expect(states.filter((s) => s === 'ERROR')).toHaveLength(1)
    expect(states.at(-1)).toBe('ERROR')
  })
})
