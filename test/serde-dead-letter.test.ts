/**
 * Runnel's Avro serdes and dead-letter records against the real broker and registry: good records
 * of old and new writers are read, and each kind of bad record becomes a dead letter whose headers
 * name the error and the source, with the bytes untouched. The loop below applies the
 * log-and-continue policy the way the runtime does (resolve once, retry, else dead-letter).
 */
import { Consumer, type Message, Producer } from '@platformatic/kafka'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startRegistry, type RunningRegistry } from '../registry/index.ts'
import {
  avroSerde,
  avroSerdeForSchema,
  buildDeadLetterRecord,
  DeadLetterHeaders,
  deadLetterTopic,
  headersWithBufferNames,
  SchemaRegistryClient,
  SerdeErrorCodes,
  SerdeNeedsResolution,
  type Serde,
  type SensorObservation
} from '../schemas/index.ts'
import { createTopics, kafkaBrokers, uniqueName } from './support/kafka.ts'

let registry: RunningRegistry
beforeAll(async () => {
  registry = await startRegistry({ port: 0, brokers: kafkaBrokers(), topic: uniqueName('_schemas-test-dlq') })
})
afterAll(async () => {
  await registry?.close()
})

async function readAll(topic: string, count: number): Promise<Message[]> {
  const consumer = new Consumer({ clientId: 'serde-test', groupId: uniqueName('serde-test'), bootstrapBrokers: kafkaBrokers(), autocommit: false })
  const out: Message[] = []
  try {
    const stream = await consumer.consume({ topics: [topic], mode: 'earliest', autocommit: false })
    for await (const message of stream) {
      out.push(message as Message)
      if (out.length === count) break
    }
    await stream.close()
  } finally {
    await consumer.close()
  }
  return out
}

// The deserialization step of the runtime, under log-and-continue.
async function deserializeOrDeadLetter<T>(serde: Serde<T>, message: Message, applicationId: string, producer: Producer): Promise<T | undefined> {
  const attempt = () => serde.deserialize(message.topic, message.value)
  try {
    try {
      return attempt()
    } catch (err) {
      if (!(err instanceof SerdeNeedsResolution)) throw err
      await serde.resolve?.(message.topic, message.value)
      return attempt()
    }
  } catch (err) {
    const dlq = buildDeadLetterRecord({ applicationId, part: 'value', error: err, record: message })
    await producer.send({
      messages: [
        {
          topic: dlq.topic,
          headers: headersWithBufferNames(dlq.headers),
          ...(dlq.key === null ? {} : { key: dlq.key }),
          ...(dlq.value === null ? {} : { value: dlq.value })
        }
      ]
    })
    return undefined
  }
}

describe('Avro serde and dead letters on a real topic', () => {
  it('reads good records of old and new writers and dead-letters each bad one with the right headers', async () => {
    const applicationId = uniqueName('serde-app')
    const topic = uniqueName('observations')
    await createTopics(kafkaBrokers(), [
      { name: topic, partitions: 1 },
      { name: deadLetterTopic(applicationId), partitions: 1 }
    ])
    const client = () => new SchemaRegistryClient({ url: registry.url })

    // Writers: the contract schema, a newer version with a defaulted field, and an incompatible one
    // registered under another subject (so the registry accepts it) but written to our topic.
    const writer = avroSerde('runnel.traffic.SensorObservation', { registry: client() })
    await writer.configure(topic, false)
    const newer = JSON.parse(writer.schema) as { fields: unknown[] }
    newer.fields.push({ name: 'confidence', type: 'double', default: 1 })
    const newWriter = avroSerdeForSchema<SensorObservation & { confidence: number }>(newer, { registry: client() })
    await newWriter.configure(topic, false)
    const incompatible = avroSerdeForSchema<{ sensor_id: number }>(
      { type: 'record', name: 'SensorObservation', namespace: 'runnel.traffic', fields: [{ name: 'sensor_id', type: 'long' }] },
      { registry: client() }
    )
    const elsewhere = uniqueName('elsewhere')
    await incompatible.configure(elsewhere, false)
    const incompatibleBytes = incompatible.serialize(elsewhere, { sensor_id: 1 })

    const obs = (n: number): SensorObservation => ({
      sensor_id: 's-1',
      traveler_id: `t-${n}`,
      traveler_type: 'CAR',
      x: n,
      y: n / 2,
      timestamp: 1_763_726_400_000 + n
    })
    const good1 = writer.serialize(topic, obs(1))
    const wrongMagic = Buffer.from(good1)
    wrongMagic[0] = 7
    const unknownId = Buffer.from(good1)
    unknownId.writeInt32BE(987_654, 1)
    const truncated = good1.subarray(0, good1.length - 4)
    const values = [
      good1,
      wrongMagic,
      unknownId,
      newWriter.serialize(topic, { ...obs(2), confidence: 0.5 }),
      truncated,
      incompatibleBytes,
      writer.serialize(topic, obs(3))
    ]

    const producer = new Producer({ clientId: 'serde-test', bootstrapBrokers: kafkaBrokers() })
    try {
      await producer.send({
        messages: values.map((value, i) => ({
          topic,
          partition: 0,
          key: Buffer.from(`k${i}`),
          value,
          headers: new Map([[Buffer.from('trace'), Buffer.from(`r${i}`)]])
        }))
      })
      const reader = avroSerde('runnel.traffic.SensorObservation', { registry: client() })
      const good: SensorObservation[] = []
      for (const message of await readAll(topic, values.length)) {
        const value = await deserializeOrDeadLetter(reader, message, applicationId, producer)
        if (value !== undefined) good.push(value)
      }
      expect(good).toEqual([obs(1), obs(2), obs(3)])

      const dead = await readAll(deadLetterTopic(applicationId), 4)
      const h = (m: Message, name: string) =>
        m.headers.get(Buffer.from(name))?.toString('utf8') ?? [...m.headers].find(([k]) => k.toString() === name)?.[1].toString('utf8')
      expect(dead.map((m) => h(m, DeadLetterHeaders.ERROR_CODE))).toEqual([
        SerdeErrorCodes.AVRO_MAGIC_BYTE,
        SerdeErrorCodes.AVRO_UNKNOWN_SCHEMA_ID,
        SerdeErrorCodes.AVRO_TRUNCATED,
        SerdeErrorCodes.AVRO_INCOMPATIBLE_SCHEMA
      ])
      expect(dead.map((m) => h(m, DeadLetterHeaders.OFFSET))).toEqual(['1', '2', '4', '5'])
      for (const m of dead) {
        const offset = Number(h(m, DeadLetterHeaders.OFFSET))
        expect(h(m, DeadLetterHeaders.TOPIC)).toBe(topic)
        expect(h(m, DeadLetterHeaders.PARTITION)).toBe('0')
        expect(h(m, DeadLetterHeaders.ERROR_PART)).toBe('value')
        expect(h(m, 'trace')).toBe(`r${offset}`)
        expect(h(m, DeadLetterHeaders.ERROR_MESSAGE)?.length).toBeGreaterThan(10)
        expect(m.key.toString()).toBe(`k${offset}`)
        expect(m.value.equals(values[offset] ?? Buffer.alloc(0))).toBe(true)
      }
      expect(h(dead[1] as Message, DeadLetterHeaders.ERROR_MESSAGE)).toBe(`schema id 987654 on topic ${topic} is unknown to the schema registry`)
    } finally {
      await producer.close()
    }
  })
})
