/**
 * `npm run query-api`: runs one query API instance from the environment (the schema of config.ts
 * names every variable; the README's table lists them). Without QUERY_API_TOKENS it generates one
 * read+admin token and prints it, so a local stack works out of the box; set QUERY_API_TOKENS in
 * any shared deployment.
 */
import { randomBytes } from 'node:crypto'
import { configFromEnv } from './config.ts'
import { QueryApiConfigError } from './errors.ts'
import { startQueryApi } from './query-api.ts'

let generatedToken: string | undefined
const env = { ...process.env }
if (env.QUERY_API_TOKENS === undefined || env.QUERY_API_TOKENS.trim() === '') {
  generatedToken = randomBytes(18).toString('base64url')
  env.QUERY_API_TOKENS = `${generatedToken}:read+admin`
}

let api: Awaited<ReturnType<typeof startQueryApi>>
try {
  api = await startQueryApi(configFromEnv(env))
} catch (err) {
  if (err instanceof QueryApiConfigError) {
    process.stderr.write(`${err.message}\n`)
    process.exit(2)
  }
  process.stderr.write(`query-api: could not start: ${(err as Error).stack ?? String(err)}\n`)
  process.exit(1)
}
process.stdout.write(`query API listening on ${api.url} (tRPC under /trpc, readiness at /readyz)\n`)
if (generatedToken !== undefined) process.stdout.write(`generated API token (read+admin) for this run: ${generatedToken}\n`)

let stopping = false
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) return
    stopping = true
    api.close().then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(`query-api: error while closing: ${String(err)}\n`)
        process.exit(1)
      }
    )
  })
}
