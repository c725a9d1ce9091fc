import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { AVRO_SCHEMA_DIR, AVRO_TYPES_FILE, generateAvroTypes, loadAvroSchemaFiles } from './avro-codegen.ts'
import { avroSchemas, TravelerType, TravelerTypeSymbols, type AvroRecordTypes } from './avro/types.generated.ts'

const root = join(import.meta.dirname, '..')

// The contract tables of ../shared/CONTRACTS.md, field by field: [name, Avro type, default].
const ts = { type: 'long', logicalType: 'timestamp-millis' }
const nullableDouble = ['null', 'double']
const contract: Record<string, Array<[string, unknown, unknown?]>> = {
  'runnel.traffic.SensorObservation': [
    ['sensor_id', 'string'],
    ['traveler_id', 'string'],
    ['traveler_type', 'runnel.traffic.TravelerType', 'UNKNOWN'],
    ['x', 'double'],
    ['y', 'double'],
    ['timestamp', ts]
  ],
  'runnel.traffic.TrafficWindowStats': [
    ['sensor_id', 'string'],
    ['traveler_type', 'runnel.traffic.TravelerType'],
    ['window_start', ts],
    ['window_end', ts],
    ['observations', 'long'],
    ['travelers', 'long'],
    ['speed_samples', 'long'],
    ['speed_min', nullableDouble, null],
    ['speed_max', nullableDouble, null],
    ['speed_mean', nullableDouble, null]
  ],
  'runnel.traffic.TravelerSession': [
    ['sensor_id', 'string'],
    ['traveler_id', 'string'],
    ['traveler_type', 'runnel.traffic.TravelerType'],
    ['first_seen', ts],
    ['last_seen', ts],
    ['observations', 'long'],
    ['distance_m', 'double'],
    ['speed_max', nullableDouble, null],
    ['speed_mean', nullableDouble, null]
  ],
  'runnel.commerce.ProductSold': [
    ['product_id', 'long'],
    ['product_name', 'string'],
    ['units', 'int'],
    ['amount_cents', 'long'],
    ['timestamp', ts]
  ],
  'runnel.commerce.ProductRated': [
    ['product_id', 'long'],
    ['product_name', 'string'],
    ['rating', 'int'],
    ['category', 'string'],
    ['timestamp', ts]
  ],
  'runnel.commerce.ProductSalesWindow': [
    ['product_id', 'long'],
    ['window_start', ts],
    ['window_end', ts],
    ['orders', 'long'],
    ['units', 'long'],
    ['amount_cents', 'long']
  ],
  'runnel.commerce.ProductRating': [
    ['product_id', 'long'],
    ['product_name', 'string'],
    ['category', 'string'],
    ['count', 'long'],
    ['sum', 'long'],
    ['average', 'double'],
    ['histogram', { type: 'array', items: 'long' }]
  ],
  'runnel.commerce.CategoryRating': [
    ['category', 'string'],
    ['count', 'long'],
    ['sum', 'long'],
    ['average', 'double'],
    ['histogram', { type: 'array', items: 'long' }]
  ]
}

// Field type as the contract names it: the enum by full name instead of its inline definition.
function contractType(type: unknown): unknown {
  if (type !== null && typeof type === 'object' && !Array.isArray(type) && (type as { type?: unknown }).type === 'enum') {
    const t = type as { name: string }
    return `runnel.traffic.${t.name}`
  }
  return type
}

describe('generated Avro types', () => {
  it('the committed types file is exactly what the generator produces from the .avsc files', async () => {
    const files = await loadAvroSchemaFiles(join(root, AVRO_SCHEMA_DIR))
    const committed = await readFile(join(root, AVRO_TYPES_FILE), 'utf8')
    expect(committed).toBe(generateAvroTypes(files))
  })

  it('there is one schema per contract record, with the contract fields, types and defaults in order', () => {
    expect(Object.keys(avroSchemas).sort()).toEqual(Object.keys(contract).sort())
    for (const [name, fields] of Object.entries(contract)) {
      const schema = avroSchemas[name as keyof typeof avroSchemas] as unknown as { fields: Array<{ name: string; type: unknown; default?: unknown }> }
      expect(
        schema.fields.map((f) => [f.name, contractType(f.type), f.default]),
        name
      ).toEqual(fields.map(([n, t, d]) => [n, t, d]))
    }
  })

  it('TravelerType has the contract symbols and UNKNOWN as the default for unknown symbols', () => {
    expect(TravelerTypeSymbols).toEqual(['PEDESTRIAN', 'BICYCLE', 'CAR', 'BUS', 'TRUCK', 'UNKNOWN'])
    expect(Object.values(TravelerType)).toEqual([...TravelerTypeSymbols])
    const enumType = (avroSchemas['runnel.traffic.SensorObservation'].fields[2].type as { default: string }).default
    expect(enumType).toBe('UNKNOWN')
  })

  it('the generated interfaces accept contract-shaped values (checked by tsc)', () => {
    const observation: AvroRecordTypes['runnel.traffic.SensorObservation'] = {
      sensor_id: 's-1',
      traveler_id: 't-1',
      traveler_type: TravelerType.CAR,
      x: 1.5,
      y: -2,
      timestamp: 1_763_726_400_000
    }
    const stats: AvroRecordTypes['runnel.traffic.TrafficWindowStats'] = {
      sensor_id: 's-1',
      traveler_type: 'BUS',
      window_start: 0,
      window_end: 60_000,
      observations: 1,
      travelers: 1,
      speed_samples: 0,
      speed_min: null,
      speed_max: null,
      speed_mean: null
    }
    expect(observation.traveler_type).toBe('CAR')
    expect(stats.speed_min).toBeNull()
  })
})

describe('the generator', () => {
  const file = (text: unknown, path = 'x.avsc') => ({ path, text: JSON.stringify(text) })

  it('maps timestamps, nullable unions, arrays, maps, bytes and nested records to TypeScript', () => {
    const out = generateAvroTypes([
      file({
        type: 'record',
        name: 'A',
        namespace: 'ns',
        doc: 'An A.',
        fields: [
          { name: 'at', type: { type: 'long', logicalType: 'timestamp-millis' } },
          { name: 'maybe', type: ['null', 'string'], default: null },
          { name: 'list', type: { type: 'array', items: ['null', 'int'] } },
          { name: 'dict', type: { type: 'map', values: 'double' } },
          { name: 'raw', type: 'bytes' },
          { name: 'inner', type: { type: 'record', name: 'B', fields: [{ name: 'ok', type: 'boolean' }] } },
          { name: 'again', type: 'B' }
        ]
      })
    ])
    expect(out).toContain('/** An A. */\nexport interface A {')
    expect(out).toContain('  /** (epoch ms, UTC) */\n  at: number')
    expect(out).toContain('  maybe: string | null')
    expect(out).toContain('  list: Array<number | null>')
    expect(out).toContain('  dict: Record<string, number>')
    expect(out).toContain('  raw: Buffer')
    expect(out).toContain('  inner: B\n')
    expect(out).toContain('  again: B\n')
    expect(out).toContain('export interface B {\n  ok: boolean\n}')
    expect(out).toContain("  'ns.A': A")
  })

  it('rejects a named type defined differently in two files', () => {
    const e1 = { type: 'enum', name: 'E', symbols: ['X'] }
    const e2 = { type: 'enum', name: 'E', symbols: ['X', 'Y'] }
    expect(() =>
      generateAvroTypes([
        file({ type: 'record', name: 'R1', namespace: 'n', fields: [{ name: 'e', type: e1 }] }, 'r1.avsc'),
        file({ type: 'record', name: 'R2', namespace: 'n', fields: [{ name: 'e', type: e2 }] }, 'r2.avsc')
      ])
    ).toThrow('r2.avsc: n.E differs from its definition in another schema file')
  })

  it('names the file of an invalid schema', () => {
    expect(() => generateAvroTypes([file({ type: 'record', name: 'R', fields: [{ name: 'a', type: 'nope' }] }, 'bad.avsc')])).toThrow(
      /^bad\.avsc: invalid Avro schema/
    )
    expect(() => generateAvroTypes([{ path: 'broken.avsc', text: '{' }])).toThrow(/^broken\.avsc: /)
    expect(() => generateAvroTypes([file('string', 'prim.avsc')])).toThrow('prim.avsc: a schema file must hold one record schema')
  })

  it('rejects two files defining the same record', () => {
    const r = { type: 'record', name: 'R', namespace: 'n', fields: [{ name: 'a', type: 'int' }] }
    expect(() => generateAvroTypes([file(r, 'a.avsc'), file(r, 'b.avsc')])).toThrow('record n.R is defined by more than one schema file')
  })
})
