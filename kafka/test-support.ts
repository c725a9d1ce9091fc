/** Helpers for tests of the layers that read through kafka/: fake cluster metadata. */
import type { ClusterMetadata } from '@platformatic/kafka'

/** The metadata of a cluster with one topic whose partition `p` is led by broker `leaders[p]` (-1: no leader). */
export function oneTopicMetadata(topic: string, topicId: string, leaders: readonly number[]): ClusterMetadata {
  return {
    id: 'cluster',
    controllerId: 1,
    lastUpdate: 0,
    brokers: new Map(),
    topics: new Map([
      [
        topic,
        {
          id: topicId,
          partitionsCount: leaders.length,
          lastUpdate: 0,
          partitions: leaders.map((leader) => ({ leader, leaderEpoch: 0, replicas: [leader], isr: [leader], offlineReplicas: [] }))
        }
      ]
    ])
  }
}
