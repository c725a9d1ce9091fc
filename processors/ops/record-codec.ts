/**
 * Small binary helpers shared by the stores that keep records for later (the suppress buffer and the
 * outer-join store): record headers and optional length-prefixed values.
 */
import { SerdeError } from '../../schemas/index.ts'
import type { RecordHeaders } from '../api.ts'

/**
 * Headers as bytes. Layout: count (uint16 BE), then per header: name length (uint16 BE), name
 * (UTF-8), value length (uint32 BE), value bytes.
 */
export function encodeHeaders(headers: RecordHeaders): Buffer {
  const names = Object.keys(headers)
  if (names.length > 0xffff) throw new SerdeError('SERDE_HEADERS', `a record has ${names.length} headers, at most 65535 can be stored`)
  const parts: Buffer[] = [Buffer.alloc(2)]
  ;(parts[0] as Buffer).writeUInt16BE(names.length, 0)
  for (const name of names) {
    const nameBytes = Buffer.from(name, 'utf8')
    const value = headers[name] as Buffer
    const head = Buffer.allocUnsafe(2 + nameBytes.length + 4)
    head.writeUInt16BE(nameBytes.length, 0)
    nameBytes.copy(head, 2)
    head.writeUInt32BE(value.length, 2 + nameBytes.length)
    parts.push(head, value)
  }
  return Buffer.concat(parts)
}

/** Reads headers written by `encodeHeaders` at `offset`; returns them and the offset after them. */
export function decodeHeaders(data: Buffer, offset: number, what: string): { headers: RecordHeaders; offset: number } {
  const need = (bytes: number): void => {
    if (offset + bytes > data.length) throw new SerdeError('SERDE_HEADERS', `truncated headers in ${what}`)
  }
  need(2)
  const count = data.readUInt16BE(offset)
  offset += 2
  const headers: Record<string, Buffer> = {}
  for (let i = 0; i < count; i++) {
    need(2)
    const nameLength = data.readUInt16BE(offset)
    offset += 2
    need(nameLength + 4)
    const name = data.toString('utf8', offset, offset + nameLength)
    offset += nameLength
    const valueLength = data.readUInt32BE(offset)
    offset += 4
    need(valueLength)
    headers[name] = Buffer.from(data.subarray(offset, offset + valueLength))
    offset += valueLength
  }
  return { headers, offset }
}

/** A length-prefixed byte block: length (uint32 BE) then the bytes. */
export function lengthPrefixed(bytes: Buffer): Buffer {
  const head = Buffer.allocUnsafe(4)
  head.writeUInt32BE(bytes.length, 0)
  return Buffer.concat([head, bytes])
}

/** Reads a block written by `lengthPrefixed` at `offset`. */
export function readLengthPrefixed(data: Buffer, offset: number, what: string): { bytes: Buffer; offset: number } {
  if (offset + 4 > data.length) throw new SerdeError('SERDE_TRUNCATED', `truncated ${what}`)
  const length = data.readUInt32BE(offset)
  const start = offset + 4
  if (start + length > data.length) throw new SerdeError('SERDE_TRUNCATED', `truncated ${what}`)
  return { bytes: data.subarray(start, start + length), offset: start + length }
}
