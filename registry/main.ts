/**
 * Runs the schema registry: `node registry/main.ts`. Environment: REGISTRY_PORT, else PORT (default
 * 8081; REGISTRY_PORT exists because PORT is also the query API's variable), HOST (default 127.0.0.1),
 * KAFKA_BROKERS (default 127.0.0.1:9092), REGISTRY_TOPIC (default _schemas).
 * Credentials (default none: an open registry): REGISTRY_BASIC_AUTH_USERS, comma-separated
 * `user:password` pairs (a password may contain `:` but not `,`), and REGISTRY_BEARER_TOKENS,
 * comma-separated tokens. With either set, every request needs one of them (else 401).
 * Clients find it through SCHEMA_REGISTRY_URL (default http://127.0.0.1:8081).
 */
import { credentialsFromEnv } from './auth.ts'
import { startRegistry } from './server.ts'

const port = Number(process.env.REGISTRY_PORT ?? process.env.PORT ?? 8081)
let credentials: ReturnType<typeof credentialsFromEnv>
try {
  credentials = credentialsFromEnv(process.env)
} catch (err) {
  console.error(`schema registry: ${(err as Error).message}`)
  process.exit(2)
}
const registry = await startRegistry({
  port,
  host: process.env.HOST ?? '127.0.0.1',
  brokers: process.env.KAFKA_BROKERS ?? '127.0.0.1:9092',
  topic: process.env.REGISTRY_TOPIC ?? '_schemas',
  ...credentials
})
const users = credentials.basicAuthUsers?.length ?? 0
const tokens = credentials.bearerTokens?.length ?? 0
const access = registry.authenticated ? `credentials required: ${users} basic-auth user(s), ${tokens} bearer token(s)` : 'open: no credentials configured'
console.log(`schema registry listening on ${registry.url} (${access})`)

let stopping = false
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) return
    stopping = true
    registry.close().then(
      () => process.exit(0),
      (err: unknown) => {
        console.error('schema registry: error while closing', err)
        process.exit(1)
      }
    )
  })
}
