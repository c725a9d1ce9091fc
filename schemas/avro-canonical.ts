import avro from 'avsc'

/**
 * Canonical text of Avro schemas. The registry identifies a schema by this text (re-registering the
 * same schema, whatever its whitespace, key order or namespace spelling, returns the same id) and the
 * serdes compare writer and reader schemas with it.
 *
 * The form keeps everything that matters to a reader of the schema (docs, defaults, aliases, logical
 * types and any custom attribute), unlike Avro's Parsing Canonical Form, which drops defaults and
 * docs and so would merge schemas that resolve differently. Rules:
 * - named types (record, error, enum, fixed) carry their full name in `name`; `namespace` is dropped;
 *   references to named types are written as full names;
 * - a primitive written as an object without other attributes becomes the bare string (`{"type":"int"}`
 *   is `"int"`);
 * - object keys come in a fixed order: `type`, `name`, the type's structure (`fields`, `symbols`,
 *   `items`, `values`, `size`), then every other attribute sorted by key; fields list `name`, `type`,
 *   then their other attributes sorted;
 * - no whitespace.
 */

const PRIMITIVES = new Set(['null', 'boolean', 'int', 'long', 'float', 'double', 'bytes', 'string'])
const NAMED = new Set(['record', 'error', 'enum', 'fixed'])
const STRUCTURE_KEYS = ['fields', 'symbols', 'items', 'values', 'size']

/** An Avro schema that cannot be parsed; `message` says what is wrong and where. */
export class AvroSchemaError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'AvroSchemaError'
  }
}

/** A parsed, validated Avro schema: its canonical text and the avsc type that reads and writes it. */
export interface ParsedAvroSchema {
  /** Canonical text (see the module comment); equal texts mean equal schemas. */
  readonly canonical: string
  /** avsc type built from the schema; `timestamp-millis` longs are plain numbers (epoch ms). */
  readonly type: avro.Type
}

/**
 * Parses and validates an Avro schema given as JSON text or as an already parsed value, returning
 * its canonical text and avsc type. Throws `AvroSchemaError` naming the problem.
 */
export function parseAvroSchema(schema: unknown): ParsedAvroSchema {
  let value = schema
  if (typeof schema === 'string') {
    const trimmed = schema.trim()
    // A bare primitive name ("string") is valid Avro; anything else must be JSON.
    if (PRIMITIVES.has(trimmed)) value = trimmed
    else {
      try {
        value = JSON.parse(trimmed) as unknown
      } catch (err) {
        throw new AvroSchemaError(`schema is not valid JSON: ${(err as Error).message}`, { cause: err })
      }
    }
  }
  let type: avro.Type
  try {
    type = avro.Type.forSchema(value as avro.Schema)
  } catch (err) {
    throw new AvroSchemaError(`invalid Avro schema: ${(err as Error).message}`, { cause: err })
  }
  return { canonical: JSON.stringify(canonicalNode(value, '', '$')), type }
}

/**
 * Canonical text of one fragment of a schema already known to be valid (for example a named type
 * nested in a record), with `namespace` the enclosing namespace. Does not validate.
 */
export function canonicalAvroFragment(node: unknown, namespace: string): string {
  return JSON.stringify(canonicalNode(node, namespace, '$'))
}

/** Canonical text of `schema` (JSON text or parsed value); throws `AvroSchemaError` when invalid. */
export function canonicalAvroSchema(schema: unknown): string {
  return parseAvroSchema(schema).canonical
}

function fullName(name: string, namespace: string): string {
  if (name.includes('.') || namespace === '') return name
  return `${namespace}.${name}`
}

function namespaceOf(fullname: string): string {
  const i = fullname.lastIndexOf('.')
  return i < 0 ? '' : fullname.slice(0, i)
}

// Walks a schema already validated by avsc, so the shapes checked here are only those the output needs.
function canonicalNode(node: unknown, namespace: string, path: string): unknown {
  if (typeof node === 'string') return PRIMITIVES.has(node) ? node : fullName(node, namespace)
  if (Array.isArray(node)) return node.map((branch, i) => canonicalNode(branch, namespace, `${path}[${i}]`))
  if (node === null || typeof node !== 'object') throw new AvroSchemaError(`${path}: expected a schema, got ${JSON.stringify(node)}`)
  const obj = node as Record<string, unknown>
  const type = obj.type
  if (typeof type !== 'string') {
    // `{"type": {...}}` or `{"type": [...]}` wraps another schema; keep its own attributes if any.
    return withAttributes({ type: canonicalNode(type, namespace, `${path}.type`) }, obj, ['type'])
  }
  if (PRIMITIVES.has(type)) {
    const extra = Object.keys(obj).filter((k) => k !== 'type')
    if (extra.length === 0) return type
    return withAttributes({ type }, obj, ['type'])
  }
  if (NAMED.has(type)) {
    const name = fullName(String(obj.name), typeof obj.namespace === 'string' ? obj.namespace : namespace)
    const inner = namespaceOf(name)
    const out: Record<string, unknown> = { type, name }
    if (type === 'record' || type === 'error') {
      const fields = Array.isArray(obj.fields) ? obj.fields : []
      out.fields = fields.map((f, i) => canonicalField(f, inner, `${path}.fields[${i}]`))
    } else if (type === 'enum') {
      out.symbols = obj.symbols
    } else {
      out.size = obj.size
    }
    return withAttributes(out, obj, ['type', 'name', 'namespace', ...STRUCTURE_KEYS])
  }
  if (type === 'array') return withAttributes({ type, items: canonicalNode(obj.items, namespace, `${path}.items`) }, obj, ['type', 'items'])
  if (type === 'map') return withAttributes({ type, values: canonicalNode(obj.values, namespace, `${path}.values`) }, obj, ['type', 'values'])
  // A reference to a named type written in object form: {"type": "Foo"}.
  return withAttributes({ type: fullName(type, namespace) }, obj, ['type'])
}

function canonicalField(field: unknown, namespace: string, path: string): unknown {
  const f = field as Record<string, unknown>
  return withAttributes({ name: f.name, type: canonicalNode(f.type, namespace, `${path}.type`) }, f, ['name', 'type'])
}

// Copies the attributes of `source` not in `skip`, sorted by key, after the keys already in `out`.
function withAttributes(out: Record<string, unknown>, source: Record<string, unknown>, skip: string[]): Record<string, unknown> {
  for (const key of Object.keys(source)
    .filter((k) => !skip.includes(k))
    .sort()) {
    out[key] = sortKeysDeep(source[key])
  }
  return out
}

// Attribute values (defaults, custom properties) are plain JSON: sort nested object keys too.
function sortKeysDeep(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeysDeep)
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {}
    for (const key of Object.keys(value).sort()) out[key] = sortKeysDeep((value as Record<string, unknown>)[key])
    return out
  }
  return value
}
