import avro from 'avsc'
import { describe, expect, it } from 'vitest'
import { canonicalAvroSchema } from './avro-canonical.ts'
import { avroSerde, avroSerdeForSchema } from './avro-serde.ts'
import { TravelerType, type SensorObservation } from './avro/types.generated.ts'
import { fakeRegistry } from './fake-registry-fetch.ts'
import { SchemaRegistryClient } from './registry-client.ts'
import { SerdeError, SerdeErrorCodes, SerdeNeedsResolution } from './serde.ts'

const observation: SensorObservation = {
  sensor_id: 's-17',
  traveler_id: 't-1',
  traveler_type: TravelerType.CAR,
  x: 12.5,
  y: -3.25,
  timestamp: 1_763_726_400_123
}

function setup(options: { now?: () => number; unknownSchemaRetryMs?: number } = {}) {
  const fake = fakeRegistry()
  const registry = new SchemaRegistryClient({ url: 'http://registry.test', fetch: fake.fetch })
  return { fake, registry, options: { registry, ...options } }
}

const v1 = { type: 'record', name: 'Thing', namespace: 't', fields: [{ name: 'a', type: 'string' }] }
const v2 = {
  type: 'record',
  name: 'Thing',
  namespace: 't',
  fields: [
    { name: 'a', type: 'string' },
    { name: 'b', type: 'int', default: 7 }
  ]
}

// Expects `fn` to throw a SerdeError with `code`, returning it for further checks.
function serdeError(fn: () => unknown, code: string): SerdeError {
  try {
    fn()
  } catch (err) {
    expect(err).toBeInstanceOf(SerdeError)
    expect((err as SerdeError).code).toBe(code)
    return err as SerdeError
  }
  throw new Error(`expected a SerdeError ${code}, nothing was thrown`)
}

describe('Avro serde, producer side', () => {
  it('writes magic byte 0, the registered schema id big-endian, then the plain Avro body', async () => {
    const { fake, options } = setup()
    fake.add('other-value', '"string"') // takes id 1 so that ours is 2
    const serde = avroSerde('runnel.traffic.SensorObservation', options)
    await serde.configure('traffic.observations', false)
    const bytes = serde.serialize('traffic.observations', observation)
    expect(bytes[0]).toBe(0)
    expect(bytes.readInt32BE(1)).toBe(2)
    expect(serde.schemaId('traffic.observations')).toBe(2)
    const body = avro.Type.forSchema(JSON.parse(serde.schema) as avro.Schema).toBuffer(observation)
    expect(bytes.subarray(5).equals(body)).toBe(true)
  })

  it('registers under <topic>-value for values and <topic>-key for keys, once per subject', async () => {
    const { fake, options } = setup()
    const values = avroSerdeForSchema<{ a: string }>(v1, options)
    const keys = avroSerdeForSchema<{ a: string }>(v1, options)
    await values.configure('t1', false)
    await values.configure('t1', false)
    await keys.configure('t1', true)
    expect(fake.requests).toEqual(['POST /subjects/t1-value/versions', 'POST /subjects/t1-key/versions'])
  })

  it('does no I/O per record and grows its buffer for large values', async () => {
    const { fake, options } = setup()
    const serde = avroSerdeForSchema<{ a: string }>(v1, options)
    await serde.configure('big', false)
    const before = fake.requests.length
    const big = 'x'.repeat(100_000)
    const bytes = serde.serialize('big', { a: big })
    expect(serde.serialize('big', { a: 'small' }).length).toBeLessThan(20)
    expect(fake.requests.length).toBe(before)
    await serde.resolve('big', bytes)
    expect(serde.deserialize('big', bytes)).toEqual({ a: big })
    expect(fake.requests.length).toBe(before)
  })

  it('refuses to serialize on a topic it was not configured for', () => {
    const { options } = setup()
    const serde = avroSerde('runnel.commerce.ProductSold', options)
    const err = serdeError(
      () => serde.serialize('commerce.product-sold', { product_id: 1, product_name: 'A', units: 1, amount_cents: 100, timestamp: 0 }),
      SerdeErrorCodes.NOT_CONFIGURED
    )
    expect(err.message).toContain('configure("commerce.product-sold")')
  })

  it('names the field of a value that does not match the schema', async () => {
    const { options } = setup()
    const serde = avroSerde('runnel.traffic.SensorObservation', options)
    await serde.configure('obs', false)
    const bad = { ...observation, x: 'east' } as unknown as SensorObservation
    const err = serdeError(() => serde.serialize('obs', bad), SerdeErrorCodes.AVRO_INVALID_VALUE)
    expect(err.message).toContain('x: expected double, got "east"')
  })

  it('with autoRegister off, finds an already registered schema and fails clearly on a missing one', async () => {
    const { fake, options } = setup()
    const serde = avroSerdeForSchema<{ a: string }>(v1, { ...options, autoRegister: false })
    await expect(serde.configure('t2', false)).rejects.toMatchObject({ code: SerdeErrorCodes.SCHEMA_NOT_REGISTERED })
    const id = fake.add('t2-value', canonicalAvroSchema(v1))
    await serde.configure('t2', false)
    expect(serde.schemaId('t2')).toBe(id)
    expect(fake.requests.filter((r) => r.includes('/versions'))).toEqual([])
  })

  it('reports a schema the registry refuses as incompatible with SERDE_SCHEMA_REJECTED', async () => {
    const refusing: typeof fetch = async () =>
      new Response(JSON.stringify({ error_code: 40901, message: 'Schema being registered is incompatible' }), { status: 409 })
    const registry = new SchemaRegistryClient({ url: 'http://registry.test', fetch: refusing })
    const err = await avroSerdeForSchema(v1, { registry })
      .configure('t4', false)
      .catch((e: unknown) => e)
    expect(err).toMatchObject({ code: SerdeErrorCodes.SCHEMA_REJECTED })
    expect((err as Error).message).toContain('HTTP 409: Schema being registered is incompatible')
  })

  it('reports an unreachable registry at configure with SERDE_REGISTRY_UNAVAILABLE', async () => {
    const { fake, options } = setup()
    fake.down = true
    await expect(avroSerdeForSchema(v1, options).configure('t3', false)).rejects.toMatchObject({ code: SerdeErrorCodes.REGISTRY_UNAVAILABLE })
  })
})

describe('Avro serde, consumer side', () => {
  it('needs resolution for an unseen id, fetches it once in resolve, then decodes without I/O', async () => {
    const { fake, options } = setup()
    const writer = avroSerde('runnel.traffic.SensorObservation', setup().options)
    // A different producer process: register the schema directly in the reader's registry.
    const id = fake.add('obs-value', writer.schema)
    const bytes = Buffer.concat([Buffer.from([0, 0, 0, 0, id]), avro.Type.forSchema(JSON.parse(writer.schema) as avro.Schema).toBuffer(observation)])
    const reader = avroSerde('runnel.traffic.SensorObservation', options)
    expect(() => reader.deserialize('obs', bytes)).toThrow(SerdeNeedsResolution)
    expect(fake.requests).toEqual([])
    await reader.resolve('obs', bytes)
    await reader.resolve('obs', bytes)
    expect(fake.requests).toEqual([`GET /schemas/ids/${id}`])
    const decoded = reader.deserialize('obs', bytes)
    expect(decoded).toEqual(observation)
    expect(typeof decoded.timestamp).toBe('number')
    expect(fake.requests.length).toBe(1)
  })

  it('reads data of a newer writer with an added defaulted field (the old reader ignores it)', async () => {
    const { options } = setup()
    const newWriter = avroSerdeForSchema<{ a: string; b: number }>(v2, options)
    const oldReader = avroSerdeForSchema<{ a: string }>(v1, options)
    await newWriter.configure('evo', false)
    const bytes = newWriter.serialize('evo', { a: 'hello', b: 42 })
    await oldReader.resolve('evo', bytes)
    expect(oldReader.deserialize('evo', bytes)).toEqual({ a: 'hello' })
  })

  it('reads data of an older writer, filling the added field with its default (the new reader)', async () => {
    const { options } = setup()
    const oldWriter = avroSerdeForSchema<{ a: string }>(v1, options)
    const newReader = avroSerdeForSchema<{ a: string; b: number }>(v2, options)
    await oldWriter.configure('evo', false)
    const bytes = oldWriter.serialize('evo', { a: 'hello' })
    await newReader.resolve('evo', bytes)
    expect(newReader.deserialize('evo', bytes)).toEqual({ a: 'hello', b: 7 })
  })

  it('reads a TravelerType symbol it does not know as UNKNOWN, the enum default', async () => {
    const { options } = setup()
    const future = JSON.parse(avroSerde('runnel.traffic.SensorObservation', options).schema) as { fields: Array<{ type: { symbols?: string[] } }> }
    const enumType = future.fields[2]?.type
    enumType?.symbols?.push('TRAM')
    const writer = avroSerdeForSchema<Omit<SensorObservation, 'traveler_type'> & { traveler_type: string }>(future, options)
    await writer.configure('obs', false)
    const bytes = writer.serialize('obs', { ...observation, traveler_type: 'TRAM' })
    const reader = avroSerde('runnel.traffic.SensorObservation', options)
    await reader.resolve('obs', bytes)
    expect(reader.deserialize('obs', bytes).traveler_type).toBe('UNKNOWN')
  })

  it('fails a writer schema that cannot be read as the reader schema with SERDE_AVRO_INCOMPATIBLE_SCHEMA', async () => {
    const { options } = setup()
    const writer = avroSerdeForSchema<{ a: number }>(
      {
        type: 'record',
        name: 'Thing',
        namespace: 't',
        fields: [
          { name: 'a', type: 'int' },
          { name: 'c', type: 'string' }
        ]
      },
      options
    )
    const reader = avroSerdeForSchema<{ a: string }>({ type: 'record', name: 'Thing', namespace: 't', fields: [{ name: 'z', type: 'string' }] }, options)
    await writer.configure('inc', false)
    const bytes = writer.serialize('inc', { a: 1, c: 'x' } as { a: number })
    await reader.resolve('inc', bytes)
    const err = serdeError(() => reader.deserialize('inc', bytes), SerdeErrorCodes.AVRO_INCOMPATIBLE_SCHEMA)
    expect(err.message).toMatch(/writer schema id \d+ cannot be read as t\.Thing/)
  })

  it('fails an id the registry does not know with SERDE_AVRO_UNKNOWN_SCHEMA_ID, and looks again after the retry delay', async () => {
    let clock = 1_000
    const { fake, options } = setup({ now: () => clock, unknownSchemaRetryMs: 5_000 })
    const serde = avroSerdeForSchema<{ a: string }>(v1, options)
    const body = avro.Type.forSchema(v1 as avro.Schema).toBuffer({ a: 'late' })
    const bytes = Buffer.concat([Buffer.from([0, 0, 0, 0, 1]), body])
    await serde.resolve('late', bytes)
    const err = serdeError(() => serde.deserialize('late', bytes), SerdeErrorCodes.AVRO_UNKNOWN_SCHEMA_ID)
    expect(err.message).toBe('schema id 1 on topic late is unknown to the schema registry')
    await serde.resolve('late', bytes)
    expect(fake.requests).toEqual(['GET /schemas/ids/1'])
    fake.add('late-value', canonicalAvroSchema(v1))
    clock += 5_000
    expect(() => serde.deserialize('late', bytes)).toThrow(SerdeNeedsResolution)
    await serde.resolve('late', bytes)
    expect(serde.deserialize('late', bytes)).toEqual({ a: 'late' })
  })

  it('rejects resolve with SERDE_REGISTRY_UNAVAILABLE when the registry is down, and retries next time', async () => {
    const { fake, options } = setup()
    const id = fake.add('x-value', canonicalAvroSchema(v1))
    const bytes = Buffer.concat([Buffer.from([0, 0, 0, 0, id]), avro.Type.forSchema(v1 as avro.Schema).toBuffer({ a: 'q' })])
    const serde = avroSerdeForSchema<{ a: string }>(v1, options)
    fake.down = true
    await expect(serde.resolve('x', bytes)).rejects.toMatchObject({ code: SerdeErrorCodes.REGISTRY_UNAVAILABLE })
    expect(() => serde.deserialize('x', bytes)).toThrow(SerdeNeedsResolution)
    fake.down = false
    await serde.resolve('x', bytes)
    expect(serde.deserialize('x', bytes)).toEqual({ a: 'q' })
  })

  it('gives malformed records distinct codes: magic byte, short header, truncated body, trailing bytes, bad encoding', async () => {
    const { options } = setup()
    const serde = avroSerde('runnel.traffic.TrafficWindowStats', options)
    await serde.configure('stats', false)
    const good = serde.serialize('stats', {
      sensor_id: 's',
      traveler_type: 'BUS',
      window_start: 0,
      window_end: 60_000,
      observations: 3,
      travelers: 2,
      speed_samples: 1,
      speed_min: 2.5,
      speed_max: 2.5,
      speed_mean: 2.5
    })
    expect(serde.deserialize('stats', good).speed_mean).toBe(2.5)

    const wrongMagic = Buffer.from(good)
    wrongMagic[0] = 1
    serdeError(() => serde.deserialize('stats', wrongMagic), SerdeErrorCodes.AVRO_MAGIC_BYTE)
    serdeError(() => serde.deserialize('stats', Buffer.from('{"json":1}')), SerdeErrorCodes.AVRO_MAGIC_BYTE)
    serdeError(() => serde.deserialize('stats', good.subarray(0, 4)), SerdeErrorCodes.AVRO_TRUNCATED)
    serdeError(() => serde.deserialize('stats', good.subarray(0, good.length - 3)), SerdeErrorCodes.AVRO_TRUNCATED)
    serdeError(() => serde.deserialize('stats', Buffer.concat([good, Buffer.from([0])])), SerdeErrorCodes.AVRO_MALFORMED)
    // The enum index (after the 1-byte sensor_id length and 's') set to 99: no such TravelerType.
    const badEnum = Buffer.from(good)
    badEnum[7] = 99 * 2
    serdeError(() => serde.deserialize('stats', badEnum), SerdeErrorCodes.AVRO_MALFORMED)
    // Resolving a record with a bad header fetches nothing: the error is the record's.
    await serde.resolve('stats', wrongMagic)
  })
})
