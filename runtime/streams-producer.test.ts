import { MultipleErrors, ProtocolError } from '@platformatic/kafka'
import { pino } from 'pino'
import { describe, expect, it } from 'vitest'
import type { ByteConsumer, ByteProducer } from '../kafka/index.ts'
import { InstanceFencedError, migrationCause, RuntimeError, TaskMigratedError } from './errors.ts'
import { StreamsProducer } from './streams-producer.ts'

describe('migrationCause', () => {
  it('finds a lost generation or a fenced producer in client errors, nested or wrapped by the runtime', () => {
    expect(migrationCause(new ProtocolError('ILLEGAL_GENERATION'))).toBe('ILLEGAL_GENERATION')
    expect(migrationCause(new MultipleErrors('commit failed', [new Error('x'), new ProtocolError('UNKNOWN_MEMBER_ID')]))).toBe('UNKNOWN_MEMBER_ID')
    expect(migrationCause(new RuntimeError('RUNTIME_PRODUCE_FAILED', 'send failed', { cause: new ProtocolError('PRODUCER_FENCED') }))).toBe('PRODUCER_FENCED')
  })

  it('does not take other failures for a migration', () => {
    expect(migrationCause(new ProtocolError('NOT_LEADER_OR_FOLLOWER'))).toBeUndefined()
    expect(migrationCause(new Error('socket hang up'))).toBeUndefined()
    expect(migrationCause('ILLEGAL_GENERATION')).toBeUndefined()
  })
})

/** A transaction whose offset commit fails with `error`. */
function failingProducer(error: Error): ByteProducer {
  const txn = {
    send: async () => ({}),
    addConsumer: async () => {},
    addOffset: async () => {
      throw error
    },
    commit: async () => {},
    abort: async () => {}
  }
  return { beginTransaction: async () => txn, close: async () => {} } as unknown as ByteProducer
}

const consumer = { findGroupCoordinator: async () => 1 } as unknown as ByteConsumer
const offsets = [{ topic: 't', partition: 0, offset: 5, leaderEpoch: -1, metadata: null }]
const membership = { generationId: 3, memberId: 'm' }

describe('StreamsProducer', () => {
  it('turns a refused offset commit (lost generation) into TaskMigratedError', async () => {
    const producer = new StreamsProducer({
      exactlyOnce: true,
      groupId: 'g',
      transactionalId: 'g-1',
      logger: pino({ level: 'silent' }),
      create: async () => failingProducer(new ProtocolError('ILLEGAL_GENERATION'))
    })
    await producer.init()
    await expect(producer.commitTransaction(offsets, membership, consumer)).rejects.toBeInstanceOf(TaskMigratedError)
  })

  it('rethrows other commit failures as they are', async () => {
    const cause = new ProtocolError('REQUEST_TIMED_OUT')
    const producer = new StreamsProducer({
      exactlyOnce: true,
      groupId: 'g',
      transactionalId: 'g-1',
      logger: pino({ level: 'silent' }),
      create: async () => failingProducer(cause)
    })
    await producer.init()
    await expect(producer.commitTransaction(offsets, membership, consumer)).rejects.toBe(cause)
  })

  it('stops the instance when its producer is fenced more than five times in a minute (another instance has its id)', async () => {
    let now = 0
    const producer = new StreamsProducer({
      exactlyOnce: true,
      groupId: 'g',
      transactionalId: 'g-1',
      logger: pino({ level: 'silent' }),
      clock: () => now,
      create: async () => failingProducer(new ProtocolError('PRODUCER_FENCED'))
    })
    await producer.init()
    for (let i = 0; i < 5; i++) {
      now += 1_000
      await expect(producer.commitTransaction(offsets, membership, consumer)).rejects.toBeInstanceOf(TaskMigratedError)
    }
    now += 1_000
    await expect(producer.commitTransaction(offsets, membership, consumer)).rejects.toBeInstanceOf(InstanceFencedError)
  })
})

describe('StreamsProducer bounded waits', () => {
  /** A transaction whose commit (or abort) never answers. */
  function hangingProducer(hang: 'commit' | 'abort'): ByteProducer {
    const never = (): Promise<never> => new Promise<never>(() => {})
    const txn = {
      send: async () => ({}),
      addConsumer: async () => {},
      addOffset: async () => {},
      commit: hang === 'commit' ? never : async () => {},
      abort: hang === 'abort' ? never : async () => {}
    }
    return { beginTransaction: async () => txn, close: async () => {} } as unknown as ByteProducer
  }

  it('fails a transaction commit that never answers with RUNTIME_COMMIT_TIMEOUT after apiTimeoutMs', async () => {
    const producer = new StreamsProducer({
      exactlyOnce: true,
      groupId: 'g',
      transactionalId: 'g-1',
      logger: pino({ level: 'silent' }),
      apiTimeoutMs: 50,
      create: async () => hangingProducer('commit')
    })
    await producer.init()
    await expect(producer.commitTransaction(offsets, membership, consumer)).rejects.toMatchObject({ code: 'RUNTIME_COMMIT_TIMEOUT' })
  })

  it('replaces the producer when an abort never answers', async () => {
    let created = 0
    const producer = new StreamsProducer({
      exactlyOnce: true,
      groupId: 'g',
      transactionalId: 'g-1',
      logger: pino({ level: 'silent' }),
      apiTimeoutMs: 50,
      create: async () => {
        created++
        return hangingProducer('abort')
      }
    })
    await producer.init()
    await producer.send([])
    expect(producer.transactionInFlight).toBe(true)
    await producer.abortTransaction()
    expect(created).toBe(2)
    expect(producer.transactionInFlight).toBe(false)
  })
})
