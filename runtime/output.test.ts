import { describe, expect, it } from 'vitest'
import type { MessageToProduce, ProduceResult } from '@platformatic/kafka'
import { partitionForKey } from '../processors/index.ts'
import { OutputCollector } from './output.ts'

type Message = MessageToProduce<Buffer, Buffer, Buffer, Buffer>

function collector(options: { serialize?: boolean; fail?: boolean; batchSize?: number } = {}): {
  out: OutputCollector
  sent: Message[][]
  maxConcurrent: () => number
} {
  const sent: Message[][] = []
  let active = 0
  let max = 0
  const offsets = new Map<string, number>()
  const out = new OutputCollector({
    partitionCounts: new Map([
      ['sink', 4],
      ['app-store-changelog', 2]
    ]),
    trackedTopics: new Set(['app-store-changelog']),
    batchSize: options.batchSize ?? 3,
    serialize: options.serialize ?? false,
    sender:
      () =>
      async (messages): Promise<ProduceResult> => {
        active++
        max = Math.max(max, active)
        await new Promise((resolve) => setTimeout(resolve, 5))
        active--
        if (options.fail) throw new Error('broker says no')
        sent.push(messages)
        const result: ProduceResult = { offsets: [] }
        const perPartition = new Map<string, number>()
        for (const m of messages) perPartition.set(`${m.topic}|${m.partition}`, (perPartition.get(`${m.topic}|${m.partition}`) ?? 0) + 1)
        for (const [k, n] of perPartition) {
          const [topic, partition] = k.split('|') as [string, string]
          const base = offsets.get(k) ?? 0
          offsets.set(k, base + n)
          result.offsets?.push({ topic, partition: Number(partition), offset: BigInt(base) })
        }
        return result
      }
  })
  return { out, sent, maxConcurrent: () => max }
}

const record = (topic: string, key: string | null, partition?: number): Parameters<OutputCollector['send']>[0] => ({
  topic,
  partition,
  key: key === null ? null : Buffer.from(key),
  value: Buffer.from('v'),
  timestampMs: 1234,
  headers: { h: Buffer.from('x') }
})

describe('OutputCollector', () => {
  it('partitions keyed records like Java, null keys round robin, and keeps explicit partitions', async () => {
    const { out, sent } = collector({ batchSize: 100 })
    out.send(record('sink', 'alpha'))
    out.send(record('sink', null))
    out.send(record('sink', null))
    out.send(record('app-store-changelog', 'k', 1))
    out.send(record('dynamic', 'k'))
    await out.flush()
    const messages = sent.flat()
    expect(messages[0]?.partition).toBe(partitionForKey(Buffer.from('alpha'), 4))
    expect([messages[1]?.partition, messages[2]?.partition]).toEqual([0, 1])
    expect(messages[3]?.partition).toBe(1)
    expect(messages[4]?.partition).toBeUndefined()
    expect(messages[0]?.timestamp).toBe(1234n)
    expect([...(messages[0]?.headers as Map<Buffer, Buffer>)].map(([k, v]) => [k.toString(), v.toString()])).toEqual([['h', 'x']])
  })

  it('sends a batch as soon as it is full and tracks acknowledged changelog offsets', async () => {
    const { out, sent } = collector({ batchSize: 2 })
    out.send(record('app-store-changelog', 'a', 0))
    expect(sent).toHaveLength(0)
    out.send(record('app-store-changelog', 'b', 0))
    out.send(record('app-store-changelog', 'c', 1))
    await out.flush()
    expect(sent.map((b) => b.length)).toEqual([2, 1])
    expect(out.ackedOffset('app-store-changelog', 0)).toBe(2)
    expect(out.ackedOffset('app-store-changelog', 1)).toBe(1)
    expect(out.ackedOffset('sink', 0)).toBeUndefined()
    out.forgetOffsets('app-store-changelog', 0)
    expect(out.ackedOffset('app-store-changelog', 0)).toBeUndefined()
  })

  it('has at most one send in flight when serialized (transactions), several otherwise', async () => {
    const serial = collector({ serialize: true, batchSize: 1 })
    for (let i = 0; i < 5; i++) serial.out.send(record('sink', `k${i}`))
    await serial.out.flush()
    expect(serial.maxConcurrent()).toBe(1)
    expect(serial.sent.flat().map((m) => m.key?.toString())).toEqual(['k0', 'k1', 'k2', 'k3', 'k4'])
    const parallel = collector({ batchSize: 1 })
    for (let i = 0; i < 5; i++) parallel.out.send(record('sink', `k${i}`))
    await parallel.out.flush()
    expect(parallel.maxConcurrent()).toBeGreaterThan(1)
  })

  it('reports a failed send at flush, and discard drops buffered records and says a send failed', async () => {
    const failing = collector({ fail: true, batchSize: 1 })
    failing.out.send(record('sink', 'a'))
    await expect(failing.out.flush()).rejects.toThrow(/sending 1 records failed: broker says no/)
    failing.out.send(record('sink', 'b'))
    expect(await failing.out.discard()).toBe(true)
    const ok = collector({ batchSize: 10 })
    ok.out.send(record('sink', 'a'))
    expect(await ok.out.discard()).toBe(false)
    await ok.out.flush()
    expect(ok.sent).toHaveLength(0)
  })
})

describe('OutputCollector bounded waits', () => {
  it('fails the flush with RUNTIME_PRODUCE_TIMEOUT when a send is never acknowledged, and discards without waiting forever', async () => {
    const out = new OutputCollector({
      partitionCounts: new Map([['sink', 1]]),
      trackedTopics: new Set(),
      batchSize: 10,
      serialize: true,
      deliveryTimeoutMs: 50,
      // A client that lost the callback of this request: the promise never settles.
      sender: () => () => new Promise<ProduceResult>(() => {})
    })
    out.send(record('sink', 'k'))
    const started = Date.now()
    await expect(out.flush()).rejects.toMatchObject({ code: 'RUNTIME_PRODUCE_TIMEOUT', timeoutMs: 50 })
    expect(Date.now() - started).toBeLessThan(5_000)
    out.send(record('sink', 'k'))
    out.dispatch()
    expect(await out.discard()).toBe(true)
    expect(out.inflightBatches).toBe(0)
  })
})
