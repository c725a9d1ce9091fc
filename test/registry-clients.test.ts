/**
 * Runnel's schema registry against the real Kafka broker, driven by the two Confluent-compatible
 * Node clients people actually use, and by Runnel's own serdes.
 */
import { COMPATIBILITY, SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry'
import { AvroDeserializer, AvroSerializer, RestError, SchemaRegistryClient as ConfluentClient, SerdeType } from '@confluentinc/schemaregistry'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startRegistry, type RunningRegistry } from '../registry/index.ts'
import { avroSerde, avroSerdeForSchema, canonicalAvroSchema, SchemaRegistryClient, type SensorObservation } from '../schemas/index.ts'
import { kafkaBrokers, uniqueName } from './support/kafka.ts'

const topic = uniqueName('_schemas-test-clients')
let registry: RunningRegistry

beforeAll(async () => {
  registry = await startRegistry({ port: 0, brokers: kafkaBrokers(), topic })
})
afterAll(async () => {
  await registry?.close()
})

const record = (name: string, fields: unknown[]) => JSON.stringify({ type: 'record', name, namespace: 'it', fields })
const v1 = record('Reading', [
  { name: 'sensor', type: 'string' },
  { name: 'value', type: 'double' }
])
const v2 = record('Reading', [
  { name: 'sensor', type: 'string' },
  { name: 'value', type: 'double' },
  { name: 'unit', type: 'string', default: 'm' }
])
const breaking = record('Reading', [
  { name: 'sensor', type: 'long' },
  { name: 'value', type: 'double' }
])

async function errorOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise
  } catch (err) {
    return err
  }
  throw new Error('expected a rejection')
}

describe('@kafkajs/confluent-schema-registry against the Runnel registry', () => {
  it('registers, re-registers with the same id, looks up, encodes and decodes', async () => {
    const client = new SchemaRegistry({ host: registry.url, retry: { retries: 0 } })
    const subject = uniqueName('kafkajs-readings-value')
    const { id } = await client.register({ type: SchemaType.AVRO, schema: v1 }, { subject })
    expect((await client.register({ type: SchemaType.AVRO, schema: v1 }, { subject })).id).toBe(id)
    expect(await client.getLatestSchemaId(subject)).toBe(id)
    expect(await client.getRegistryId(subject, 1)).toBe(id)
    expect(await client.getRegistryIdBySchema(subject, { type: SchemaType.AVRO, schema: v1 })).toBe(id)
    const bytes = await client.encode(id, { sensor: 's-1', value: 2.5 })
    expect(bytes[0]).toBe(0)
    expect(bytes.readInt32BE(1)).toBe(id)
    expect(await client.decode(bytes)).toEqual({ sensor: 's-1', value: 2.5 })
    // A fresh client has no cache: it fetches the writer schema by id from the registry.
    expect(await new SchemaRegistry({ host: registry.url }).decode(bytes)).toEqual({ sensor: 's-1', value: 2.5 })
  })

  it('evolves with a defaulted field and is refused an incompatible schema with HTTP 409', async () => {
    const client = new SchemaRegistry({ host: registry.url, retry: { retries: 0 } })
    const subject = uniqueName('kafkajs-evolve-value')
    const { id: id1 } = await client.register({ type: SchemaType.AVRO, schema: v1 }, { subject, compatibility: COMPATIBILITY.BACKWARD })
    const { id: id2 } = await client.register({ type: SchemaType.AVRO, schema: v2 }, { subject, compatibility: COMPATIBILITY.BACKWARD })
    expect(id2).not.toBe(id1)
    const old = await client.encode(id1, { sensor: 'old', value: 1 })
    expect(await client.decode(old, { [SchemaType.AVRO]: { readerSchema: JSON.parse(v2) as { type: 'record'; name: string; fields: [] } } })).toEqual({
      sensor: 'old',
      value: 1,
      unit: 'm'
    })
    const err = await errorOf(client.register({ type: SchemaType.AVRO, schema: breaking }, { subject, compatibility: COMPATIBILITY.BACKWARD }))
    expect(err).toMatchObject({ status: 409 })
    expect((err as Error).message).toContain('incompatible')
    const raw = await fetch(`${registry.url}/subjects/${subject}/versions`, {
      method: 'POST',
      headers: { 'content-type': 'application/vnd.schemaregistry.v1+json' },
      body: JSON.stringify({ schema: breaking })
    })
    expect(raw.status).toBe(409)
    expect(await raw.json()).toMatchObject({ error_code: 40901 })
  })
})

describe('@confluentinc/schemaregistry against the Runnel registry', () => {
  it('registers, re-registers with the same id, looks up and reads metadata', async () => {
    const client = new ConfluentClient({ baseURLs: [registry.url], maxRetries: 0 })
    const subject = uniqueName('confluent-readings-value')
    const id = await client.register(subject, { schemaType: 'AVRO', schema: v1 })
    // A second client: no cache, so the registry itself must answer with the same id.
    const other = new ConfluentClient({ baseURLs: [registry.url], maxRetries: 0 })
    expect(await other.register(subject, { schemaType: 'AVRO', schema: v1 })).toBe(id)
    expect(await other.getId(subject, { schemaType: 'AVRO', schema: v1 })).toBe(id)
    const latest = await other.getLatestSchemaMetadata(subject)
    expect(latest).toMatchObject({ id, version: 1, subject })
    expect(canonicalAvroSchema(latest.schema ?? '')).toBe(canonicalAvroSchema(v1))
    expect(await other.getAllVersions(subject)).toEqual([1])
    expect(await other.getAllSubjects()).toContain(subject)
    expect((await other.getBySubjectAndId(subject, id)).schema).toBe(canonicalAvroSchema(v1))
  })

  it('serializes and deserializes with the Avro serdes, using the latest registered version', async () => {
    const client = new ConfluentClient({ baseURLs: [registry.url], maxRetries: 0 })
    const dataTopic = uniqueName('confluent-serde')
    const id = await client.register(`${dataTopic}-value`, { schemaType: 'AVRO', schema: v1 })
    const serializer = new AvroSerializer(client, SerdeType.VALUE, { useLatestVersion: true })
    const bytes = await serializer.serialize(dataTopic, { sensor: 's-9', value: 9.75 })
    expect(bytes.readInt32BE(1)).toBe(id)
    const deserializer = new AvroDeserializer(new ConfluentClient({ baseURLs: [registry.url] }), SerdeType.VALUE, {})
    expect(await deserializer.deserialize(dataTopic, bytes)).toEqual({ sensor: 's-9', value: 9.75 })
    // Runnel reads what Confluent's serializer wrote.
    const runnel = avroSerdeForSchema<{ sensor: string; value: number }>(v1, { registry: new SchemaRegistryClient({ url: registry.url }) })
    await runnel.resolve(dataTopic, bytes)
    expect(runnel.deserialize(dataTopic, bytes)).toEqual({ sensor: 's-9', value: 9.75 })
  })

  it('is refused an incompatible schema with HTTP 409 and error code 40901, and tests compatibility', async () => {
    const client = new ConfluentClient({ baseURLs: [registry.url], maxRetries: 0 })
    const subject = uniqueName('confluent-incompatible-value')
    await client.register(subject, { schemaType: 'AVRO', schema: v1 })
    expect(await client.testSubjectCompatibility(subject, { schemaType: 'AVRO', schema: v2 })).toBe(true)
    expect(await client.testSubjectCompatibility(subject, { schemaType: 'AVRO', schema: breaking })).toBe(false)
    const err = await errorOf(client.register(subject, { schemaType: 'AVRO', schema: breaking }))
    expect(err).toBeInstanceOf(RestError)
    expect(err).toMatchObject({ status: 409, errorCode: 40901 })
    await client.updateCompatibility(subject, 'NONE' as never)
    expect(await client.getCompatibility(subject)).toBe('NONE')
    expect(typeof (await client.register(subject, { schemaType: 'AVRO', schema: breaking }))).toBe('number')
  })

  it('deletes a subject softly then permanently', async () => {
    const client = new ConfluentClient({ baseURLs: [registry.url], maxRetries: 0 })
    const subject = uniqueName('confluent-delete-value')
    await client.register(subject, { schemaType: 'AVRO', schema: v1 })
    expect(await client.deleteSubject(subject)).toEqual([1])
    expect(await client.getAllSubjects()).not.toContain(subject)
    expect(await client.deleteSubject(subject, true)).toEqual([1])
    expect(await errorOf(client.getAllVersions(subject))).toMatchObject({ status: 404, errorCode: 40401 })
  })
})

describe('Runnel serdes against the Runnel registry', () => {
  it('a Runnel producer and a kafkajs consumer agree on the bytes of a contract record', async () => {
    const serde = avroSerde('runnel.traffic.SensorObservation', { registry: new SchemaRegistryClient({ url: registry.url }) })
    const dataTopic = uniqueName('traffic.observations')
    await serde.configure(dataTopic, false)
    const value: SensorObservation = { sensor_id: 's-17', traveler_id: 't-4', traveler_type: 'BICYCLE', x: 3.5, y: 4, timestamp: 1_763_726_400_000 }
    const bytes = serde.serialize(dataTopic, value)
    expect(await new SchemaRegistry({ host: registry.url }).decode(bytes)).toEqual(value)
    const latest = await fetch(`${registry.url}/subjects/${dataTopic}-value/versions/latest`).then(async (r) => r.json() as Promise<{ id: number }>)
    expect(latest.id).toBe(serde.schemaId(dataTopic))
  })
})
