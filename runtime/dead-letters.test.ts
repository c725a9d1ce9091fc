import { Writable } from 'node:stream'
import { pino, type Logger } from 'pino'
import { describe, expect, it } from 'vitest'
import type { FailedRecord, ProducedRecord } from '../processors/index.ts'
import { DeadLetterHeaders, DeserializationFailedError, jsonSerde, longSerde, stringSerde } from '../schemas/index.ts'
import { StreamsBuilder } from '../topology/index.ts'
import { createDeserializationHandler } from './dead-letters.ts'

interface LogLine {
  level: number
  msg: string
  [field: string]: unknown
}

// A pino logger at `level` whose lines are parsed into `lines`.
function capture(level: string): { logger: Logger; lines: LogLine[] } {
  const lines: LogLine[] = []
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line !== '') lines.push(JSON.parse(line) as LogLine)
      done()
    }
  })
  return { logger: pino({ level }, stream), lines }
}

function handler(level: string, policy: 'log-and-continue' | 'log-and-fail' = 'log-and-continue') {
  const builder = new StreamsBuilder()
  builder.stream('readings', { keySerde: stringSerde, valueSerde: jsonSerde<{ v: number }>() }).to('out', { keySerde: stringSerde, valueSerde: jsonSerde() })
  builder.stream('counts', { keySerde: longSerde, valueSerde: stringSerde }).to('out2', { keySerde: longSerde, valueSerde: stringSerde })
  const sent: ProducedRecord[] = []
  const failures: DeserializationFailedError[] = []
  const { logger, lines } = capture(level)
  const handle = createDeserializationHandler({
    plan: builder.build().build({ applicationId: 'app' }),
    applicationId: 'app',
    policy,
    collector: { send: (r) => sent.push(r) },
    deadLetterTopic: 'app-dlq',
    deadLetterPartitions: 2,
    logger,
    onFail: (e) => failures.push(e)
  })
  return { handle, sent, failures, lines }
}

const malformed: FailedRecord = {
  topic: 'readings',
  partition: 3,
  offset: 41,
  key: Buffer.from('k'),
  value: Buffer.from('{nope'),
  timestampMs: 1000,
  headers: {}
}

function serdeErrorOf(): unknown {
  try {
    jsonSerde().deserialize('readings', Buffer.from('{nope'))
  } catch (err) {
    return err
  }
  throw new Error('expected the serde to throw')
}

describe('createDeserializationHandler', () => {
  it('logs a dead-lettered record as one warn line with code, topic, partition, offset and reason, without a stack', () => {
    const { handle, sent, lines } = handler('info')
    expect(handle(malformed, serdeErrorOf())).toBe('continue')
    expect(lines).toHaveLength(1)
    const [line] = lines
    expect(line).toMatchObject({
      level: 40,
      msg: 'record cannot be deserialized: sent to the dead-letter topic',
      code: 'SERDE_JSON',
      topic: 'readings',
      partition: 3,
      offset: 41,
      part: 'value',
      deadLetterTopic: 'app-dlq',
      reason: expect.stringContaining('invalid JSON on topic readings') as unknown
    })
    expect(line).not.toHaveProperty('err')
    expect(JSON.stringify(line)).not.toMatch(/\bat .*\.ts:\d+/)
    expect(sent).toHaveLength(1)
    expect(sent[0]).toMatchObject({ topic: 'app-dlq', partition: 1, value: malformed.value })
    expect(sent[0]?.headers[DeadLetterHeaders.ERROR_CODE]?.toString()).toBe('SERDE_JSON')
  })

  it('adds the stack at debug level only', () => {
    const { handle, lines } = handler('debug')
    handle(malformed, serdeErrorOf())
    expect(lines.map((l) => l.level)).toEqual([40, 20])
    const debug = lines[1] as { err?: { stack?: string; type?: string }; offset?: number }
    expect(debug.offset).toBe(41)
    expect(debug.err?.type).toBe('SerdeError')
    expect(debug.err?.stack).toMatch(/SerdeError: invalid JSON/)
  })

  it('names a key that fails and a non-serde error as UNKNOWN', () => {
    const { handle, lines } = handler('info')
    handle({ topic: 'counts', partition: 0, offset: 7, key: Buffer.from('short'), value: Buffer.from('x'), timestampMs: 1 }, 'not even an Error')
    expect(lines[0]).toMatchObject({ level: 40, code: 'UNKNOWN', topic: 'counts', partition: 0, offset: 7, part: 'key', reason: 'not even an Error' })
  })

  it('under log-and-fail logs one error line without a stack and stops with DeserializationFailedError', () => {
    const { handle, sent, failures, lines } = handler('info', 'log-and-fail')
    expect(handle(malformed, serdeErrorOf())).toBe('fail')
    expect(sent).toHaveLength(0)
    expect(failures[0]).toBeInstanceOf(DeserializationFailedError)
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatchObject({ level: 50, code: 'SERDE_JSON', topic: 'readings', partition: 3, offset: 41 })
    expect(lines[0]).not.toHaveProperty('err')
  })
})
