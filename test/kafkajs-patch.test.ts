/**
 * The project's patch to kafkajs 2.2.4 (patches/kafkajs+2.2.4.patch), against the real broker: its
 * request queue schedules the next check of pending requests at "throttled until minus now", which
 * is negative whenever no throttle is in force, and Node 24 emits a TimeoutNegativeWarning for every
 * such timer (in every producer of the project: simulators, tests, interop clients). Patched,
 * produces and an admin request emit no such warning.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { Kafka, logLevel } from 'kafkajs'
import { createTopics, kafkaBrokers, uniqueName } from './support/kafka.ts'

const closers: Array<() => Promise<unknown>> = []
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close().catch(() => undefined)
})

describe('kafkajs patch', () => {
  it('produces and reads offsets without a TimeoutNegativeWarning', async () => {
    const warnings: string[] = []
    const onWarning = (w: Error): void => {
      warnings.push(`${w.name}: ${w.message}`)
    }
    process.on('warning', onWarning)
    closers.push(async () => process.off('warning', onWarning))
    const topic = uniqueName('kafkajs-patch')
    await createTopics(kafkaBrokers(), [{ name: topic, partitions: 1 }])
    const kafka = new Kafka({ clientId: 'kafkajs-patch-test', brokers: kafkaBrokers(), logLevel: logLevel.NOTHING })
    const producer = kafka.producer()
    await producer.connect()
    closers.push(() => producer.disconnect())
    for (let i = 0; i < 5; i++) await producer.send({ topic, messages: [{ value: `v${i}` }] })
    const admin = kafka.admin()
    await admin.connect()
    closers.push(() => admin.disconnect())
    const offsets = await admin.fetchTopicOffsets(topic)
    expect(offsets.map((o) => o.high)).toEqual(['5'])
    // Warnings are emitted on the next tick.
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect(warnings.filter((w) => w.startsWith('TimeoutNegativeWarning'))).toEqual([])
  })
})
