/**
 * kafka/'s wait for new topics, against the real broker: right after CreateTopics it resolves once
 * every partition has a leader (retrying the "unknown topic" answers a busy broker gives for a
 * moment), and for a topic that never appears it fails within its bound, naming the topic.
 */
import { afterAll, describe, expect, it } from 'vitest'
import { Admin } from '@platformatic/kafka'
import { awaitTopicsReady } from '../kafka/index.ts'
import { kafkaBrokers, uniqueName } from './support/kafka.ts'

const admin = new Admin({ clientId: 'kafka-topics-test', bootstrapBrokers: kafkaBrokers() })
afterAll(async () => {
  await admin.close()
})

describe('awaitTopicsReady', () => {
  it('resolves right after creation once every partition has a leader, with the expected count', async () => {
    const names = [uniqueName('await-a'), uniqueName('await-b')]
    for (const name of names) await admin.createTopics({ topics: [name], partitions: 4, replicas: 1 })
    await awaitTopicsReady(
      admin,
      names.map((name) => ({ name, partitions: 4 }))
    )
    const metadata = await admin.metadata({ topics: names })
    for (const name of names) expect(metadata.topics.get(name)?.partitions.every((p) => p.leader >= 0)).toBe(true)
  })

  it('fails within its bound for a topic that does not exist, naming it and the last error', async () => {
    const missing = uniqueName('await-missing')
    const started = Date.now()
    await expect(awaitTopicsReady(admin, [{ name: missing }], 1500)).rejects.toThrow(
      new RegExp(`^topics ${missing} are not ready after 2 s \\(\\d+ metadata requests\\): Unknown topic`)
    )
    expect(Date.now() - started).toBeLessThan(10_000)
  })
})
