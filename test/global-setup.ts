/**
 * Integration tests run against a real broker: the one named by KAFKA_BROKERS, or the local
 * single-node Kafka (dev/kafka), which this setup starts when needed and stops afterwards if it
 * started it.
 */
import type { TestProject } from 'vitest/node'
import { startKafka, stopKafka } from '../dev/kafka/cluster.ts'

declare module 'vitest' {
  export interface ProvidedContext {
    kafkaBrokers: string[]
  }
}

let startedHere = false

export async function setup(project: TestProject): Promise<void> {
  const external = process.env.KAFKA_BROKERS
  if (external !== undefined && external.trim() !== '') {
    project.provide(
      'kafkaBrokers',
      external
        .split(',')
        .map((b) => b.trim())
        .filter((b) => b !== '')
    )
    return
  }
  const { brokers, started } = await startKafka('single')
  startedHere = started
  project.provide('kafkaBrokers', brokers)
}

export async function teardown(): Promise<void> {
  if (startedHere) await stopKafka('single')
}
