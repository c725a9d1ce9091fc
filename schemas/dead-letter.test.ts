import { describe, expect, it } from 'vitest'
import {
  buildDeadLetterRecord,
  headersWithBufferNames,
  DEAD_LETTER_MESSAGE_MAX_BYTES,
  DeadLetterHeaders,
  deadLetterTopic,
  DEFAULT_DESERIALIZATION_ERROR_POLICY,
  DeserializationFailedError,
  parseDeserializationErrorPolicy
} from './dead-letter.ts'
import { SerdeError, SerdeErrorCodes } from './serde.ts'

const header = (headers: Map<string, Buffer>, name: string) => headers.get(name)?.toString('utf8')

describe('dead-letter records', () => {
  it('keep the key and value bytes untouched and name the error and the source in headers', () => {
    const key = Buffer.from('s-17')
    const value = Buffer.from([1, 0, 0, 0, 9, 42])
    const dlq = buildDeadLetterRecord({
      applicationId: 'traffic',
      part: 'value',
      error: new SerdeError(SerdeErrorCodes.AVRO_MAGIC_BYTE, 'record on topic traffic.observations starts with byte 1'),
      record: { topic: 'traffic.observations', partition: 4, offset: 1234n, key, value, timestamp: 1_763_726_400_000n }
    })
    expect(dlq.topic).toBe('traffic-dlq')
    expect(dlq.key?.equals(key)).toBe(true)
    expect(dlq.value?.equals(value)).toBe(true)
    expect(dlq.timestamp).toBe(1_763_726_400_000n)
    expect(Object.fromEntries([...dlq.headers].map(([k, v]) => [k, v.toString('utf8')]))).toEqual({
      'runnel.dlq.error.code': 'SERDE_AVRO_MAGIC_BYTE',
      'runnel.dlq.error.message': 'record on topic traffic.observations starts with byte 1',
      'runnel.dlq.error.part': 'value',
      'runnel.dlq.topic': 'traffic.observations',
      'runnel.dlq.partition': '4',
      'runnel.dlq.offset': '1234'
    })
  })

  it("keep the record's own headers, with the dead-letter headers winning a name clash", () => {
    const dlq = buildDeadLetterRecord({
      applicationId: 'app',
      part: 'key',
      error: new Error('boom'),
      record: {
        topic: 't',
        partition: 0,
        offset: 7,
        key: null,
        value: Buffer.from('v'),
        headers: [
          ['trace-id', Buffer.from('abc')],
          [Buffer.from('runnel.dlq.topic'), Buffer.from('forged')],
          ['empty', null]
        ]
      }
    })
    expect(header(dlq.headers, 'trace-id')).toBe('abc')
    expect(header(dlq.headers, DeadLetterHeaders.TOPIC)).toBe('t')
    expect(dlq.headers.has('empty')).toBe(false)
    expect(dlq.key).toBeNull()
    expect(dlq.timestamp).toBeUndefined()
  })

  it('name non-serde errors by their string code, or UNKNOWN', () => {
    const base = { applicationId: 'a', part: 'value' as const, record: { topic: 't', partition: 0, offset: 0, key: null, value: null } }
    const coded = Object.assign(new Error('x'), { code: 'ERR_SOMETHING' })
    expect(header(buildDeadLetterRecord({ ...base, error: coded }).headers, DeadLetterHeaders.ERROR_CODE)).toBe('ERR_SOMETHING')
    expect(header(buildDeadLetterRecord({ ...base, error: 'a string' }).headers, DeadLetterHeaders.ERROR_CODE)).toBe('UNKNOWN')
    expect(header(buildDeadLetterRecord({ ...base, error: 'a string' }).headers, DeadLetterHeaders.ERROR_MESSAGE)).toBe('a string')
  })

  it('cap the error message header without splitting a UTF-8 character', () => {
    const message = 'é'.repeat(DEAD_LETTER_MESSAGE_MAX_BYTES) // 2 bytes each
    const dlq = buildDeadLetterRecord({
      applicationId: 'a',
      part: 'value',
      error: new Error(message),
      record: { topic: 't', partition: 0, offset: 0, key: null, value: null }
    })
    const bytes = dlq.headers.get(DeadLetterHeaders.ERROR_MESSAGE) ?? Buffer.alloc(0)
    expect(bytes.length).toBeLessThanOrEqual(DEAD_LETTER_MESSAGE_MAX_BYTES)
    expect(bytes.toString('utf8')).toBe('é'.repeat(DEAD_LETTER_MESSAGE_MAX_BYTES / 2))
  })

  it('can carry their header names as Buffers for clients without a header-name serializer', () => {
    const converted = headersWithBufferNames(new Map([['runnel.dlq.topic', Buffer.from('t')]]))
    expect([...converted].map(([k, v]) => [Buffer.isBuffer(k), k.toString(), v.toString()])).toEqual([[true, 'runnel.dlq.topic', 't']])
  })

  it('go to <application id>-dlq, and an empty application id is refused', () => {
    expect(deadLetterTopic('commerce')).toBe('commerce-dlq')
    expect(() => deadLetterTopic(' ')).toThrow('application id must be a non-empty string')
  })
})

describe('deserialization error policy', () => {
  it('defaults to log-and-continue and accepts only the known policies, naming the option', () => {
    expect(DEFAULT_DESERIALIZATION_ERROR_POLICY).toBe('log-and-continue')
    expect(parseDeserializationErrorPolicy(undefined)).toBe('log-and-continue')
    expect(parseDeserializationErrorPolicy('log-and-fail')).toBe('log-and-fail')
    expect(() => parseDeserializationErrorPolicy('ignore', 'onDeserializationError')).toThrow(
      `option "onDeserializationError" must be one of 'log-and-continue', 'log-and-fail', got "ignore"`
    )
  })

  it('log-and-fail stops with an error naming the record and keeping the cause', () => {
    const cause = new SerdeError(SerdeErrorCodes.AVRO_UNKNOWN_SCHEMA_ID, 'schema id 99 on topic t is unknown to the schema registry')
    const err = new DeserializationFailedError({ topic: 't', partition: 2, offset: 10n }, 'value', cause)
    expect(err.message).toBe(
      'cannot deserialize the value of t-2 at offset 10 (SERDE_AVRO_UNKNOWN_SCHEMA_ID: schema id 99 on topic t is unknown to the schema registry); stopping because the deserialization error policy is log-and-fail'
    )
    expect(err.cause).toBe(cause)
    expect(err.code).toBe('RUNNEL_DESERIALIZATION_FAILED')
  })
})
