/** Helpers shared by integration tests: the broker under test and unique names. */
import { randomBytes } from 'node:crypto'
import { inject } from 'vitest'
import { Admin } from '@platformatic/kafka'

/** Bootstrap brokers of the real Kafka the global setup provides. */
export function kafkaBrokers(): string[] {
  return inject('kafkaBrokers')
}

/** A topic or group name that no other test run uses. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`
}

/** Creates topics and waits until their metadata lists every partition with a leader. */
export async function createTopics(brokers: string[], topics: Array<{ name: string, partitions: number, replicas?: number, configs?: Record<string, string> }>): Promise<void> {
  const admin = new Admin({ clientId: 'runnel-test-admin', bootstrapBrokers: brokers })
  try {
    for (const t of topics) {
      await admin.createTopics({
        topics: [t.name],
        partitions: t.partitions,
        replicas: t.replicas ?? 1,
        configs: Object.entries(t.configs ?? {}).map(([name, value]) => ({ name, value }))
      })
    }
    const deadline = Date.now() + 30_000
    for (;;) {
      const metadata = await admin.metadata({ topics: topics.map((t) => t.name), forceUpdate: true })
      const ready = topics.every((t) => {
        const m = metadata.topics.get(t.name)
        return m !== undefined && m.partitionsCount === t.partitions && m.partitions.every((p) => p.leader >= 0)
      })
      if (ready) return
      if (Date.now() > deadline) throw new Error(`topics ${topics.map((t) => t.name).join(',')} not ready after 30 s`)
      await new Promise((r) => setTimeout(r, 200))
    }
  } finally {
    await admin.close()
  }
}
