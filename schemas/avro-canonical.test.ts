import { describe, expect, it } from 'vitest'
import { AvroSchemaError, canonicalAvroSchema, parseAvroSchema } from './avro-canonical.ts'
import { avroSchemas } from './avro/types.generated.ts'

describe('canonical Avro schema text', () => {
  it('ignores whitespace, key order and how the namespace is spelled', () => {
    const a =
      '{"type":"record","name":"R","namespace":"n.s","fields":[{"name":"a","type":"int"},{"name":"e","type":{"type":"enum","name":"E","symbols":["X"]}},{"name":"f","type":"E"}]}'
    const b = `{
      "fields": [ {"type": {"type": "int"}, "name": "a"}, {"name": "e", "type": {"symbols": ["X"], "name": "n.s.E", "type": "enum"}}, {"name": "f", "type": "n.s.E"} ],
      "name": "n.s.R", "type": "record"
    }`
    expect(canonicalAvroSchema(a)).toBe(canonicalAvroSchema(b))
    expect(canonicalAvroSchema(a)).toBe(
      '{"type":"record","name":"n.s.R","fields":[{"name":"a","type":"int"},{"name":"e","type":{"type":"enum","name":"n.s.E","symbols":["X"]}},{"name":"f","type":"n.s.E"}]}'
    )
  })

  it('keeps docs, defaults, logical types and custom attributes, so schemas differing in them differ', () => {
    const base = { type: 'record', name: 'R', fields: [{ name: 't', type: { type: 'long', logicalType: 'timestamp-millis' } }] }
    const text = canonicalAvroSchema(base)
    expect(text).toContain('"logicalType":"timestamp-millis"')
    expect(canonicalAvroSchema({ ...base, doc: 'd' })).not.toBe(text)
    expect(canonicalAvroSchema({ ...base, fields: [{ name: 't', type: 'long', default: 0 }] })).toContain('"default":0')
    expect(canonicalAvroSchema({ ...base, 'x-owner': { b: 1, a: 2 } })).toContain('"x-owner":{"a":2,"b":1}')
  })

  it('accepts primitive schemas, bare or quoted', () => {
    expect(canonicalAvroSchema('string')).toBe('"string"')
    expect(canonicalAvroSchema('"string"')).toBe('"string"')
    expect(canonicalAvroSchema({ type: 'long' })).toBe('"long"')
  })

  it('every Runnel schema round-trips through its canonical text unchanged in meaning', () => {
    for (const schema of Object.values(avroSchemas)) {
      const parsed = parseAvroSchema(schema)
      const again = parseAvroSchema(parsed.canonical)
      expect(again.canonical).toBe(parsed.canonical)
      expect(again.type.equals(parsed.type)).toBe(true)
    }
  })

  it('rejects invalid JSON and invalid schemas with an AvroSchemaError saying why', () => {
    expect(() => parseAvroSchema('{"type":')).toThrow(AvroSchemaError)
    expect(() => parseAvroSchema('{"type":')).toThrow(/not valid JSON/)
    expect(() => parseAvroSchema({ type: 'record', name: 'R', fields: [{ name: 'a', type: 'Nope' }] })).toThrow(/invalid Avro schema: .*Nope/)
    expect(() => parseAvroSchema({ type: 'record', name: 'R', fields: [{ name: 'a', type: 'int', default: 'x' }] })).toThrow(/invalid Avro schema/)
  })
})
