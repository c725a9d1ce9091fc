/** Helpers shared by integration tests: the broker under test and unique names. */
import { randomBytes } from 'node:crypto'
import { inject } from 'vitest'
import { Admin } from '@platformatic/kafka'
import { awaitTopicsReady } from '../../kafka/index.ts'

/** Bootstrap brokers of the real Kafka the global setup provides. */
export function kafkaBrokers(): string[] {
  return inject('kafkaBrokers')
}

/** A topic or group name that no other test run uses. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`
}

/** Creates topics and waits until their metadata lists every partition with a leader. */
export async function createTopics(
  brokers: string[],
  topics: Array<{ name: string; partitions: number; replicas?: number; configs?: Record<string, string> }>
): Promise<void> {
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
    await awaitTopicsReady(
      admin,
      topics.map((t) => ({ name: t.name, partitions: t.partitions }))
    )
  } finally {
    await admin.close()
  }
}
