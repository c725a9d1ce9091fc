/**
 * Runs the schema registry: `node registry/main.ts`. Environment: REGISTRY_PORT, else PORT (default
 * 8081; REGISTRY_PORT exists because PORT is also the query API's variable), HOST (default 127.0.0.1),
 * KAFKA_BROKERS (default 127.0.0.1:9092), REGISTRY_TOPIC (default _schemas).
 * Clients find it through SCHEMA_REGISTRY_URL (default http://127.0.0.1:8081).
 */
import { startRegistry } from './server.ts'

const port = Number(process.env.REGISTRY_PORT ?? process.env.PORT ?? 8081)
const registry = await startRegistry({
  port,
  host: process.env.HOST ?? '127.0.0.1',
  brokers: process.env.KAFKA_BROKERS ?? '127.0.0.1:9092',
  topic: process.env.REGISTRY_TOPIC ?? '_schemas'
})
console.log(`schema registry listening on ${registry.url}`)

let stopping = false
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) return
    stopping = true
    registry.close().then(() => process.exit(0), (err: unknown) => {
      console.error('schema registry: error while closing', err)
      process.exit(1)
    })
  })
}
