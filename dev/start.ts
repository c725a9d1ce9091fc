/**
 * `npm start`: the local stack of both apps (traffic and commerce) on embedded defaults, in one command.
 *
 * 1. Kafka: the local broker (dev/kafka), unless KAFKA_BROKERS names a cluster.
 * 2. The schema registry (registry/), unless SCHEMA_REGISTRY_URL names one.
 * 3. The dashboard build (dashboard/dist), then child processes: 2 traffic workers and a commerce
 *    worker, the query API serving the dashboard and the seed's REST endpoints, a 30-minute backfill
 *    of simulated observations and the traffic simulator in real time at a modest rate, an hour of
 *    the shop's events as the seed's JSON on `analytics` (through the commerce worker's bridge, with
 *    a share of invalid events) and the shop simulator in real time.
 *
 * It prints progress while things start, then where everything is (with a curl line per REST
 * endpoint), and stops everything it started on Ctrl-C (SIGINT) or SIGTERM, in reverse order.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { resolve } from 'node:path'
import { startKafka, stopKafka } from './kafka/cluster.ts'
import { randomBytes } from 'node:crypto'
import { startRegistry } from '../registry/index.ts'
import { buildDashboard } from '../dashboard/index.ts'

const root = resolve(import.meta.dirname, '..')

/** A long-running child process of the stack. */
export interface ServiceSpec {
  name: string
  /** Arguments to `node`, relative to the project root. */
  args: string[]
  env?: Record<string, string>
  /** Runs to completion (exit 0) before the next service starts. */
  oneshot?: boolean
}

function say(message: string): void {
  process.stdout.write(`runnel: ${message}\n`)
}

function parsePort(name: string, fallback: number): number {
  const raw = process.env[name]
  if (raw === undefined || raw === '') return fallback
  const port = Number(raw)
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    process.stderr.write(`runnel: ${name} must be a port number (0-65535), got "${raw}"\n`)
    process.exit(2)
  }
  return port
}

const stops: Array<{ name: string, stop: () => Promise<void> }> = []
let stopping = false

async function shutdown(reason: string, code: number): Promise<never> {
  if (!stopping) {
    stopping = true
    say(`${reason}: stopping...`)
    for (const { name, stop } of stops.reverse()) {
      try {
        await stop()
        say(`stopped ${name}`)
      } catch (err) {
        say(`error while stopping ${name}: ${(err as Error).message}`)
      }
    }
  }
  process.exit(code)
}
process.on('SIGINT', () => void shutdown('SIGINT', 0))
process.on('SIGTERM', () => void shutdown('SIGTERM', 0))

function startService(spec: ServiceSpec, env: NodeJS.ProcessEnv): ChildProcess {
  const child = spawn(process.execPath, spec.args, { cwd: root, env: { ...env, ...spec.env }, stdio: ['ignore', 'pipe', 'pipe'] })
  const prefix = `[${spec.name}] `
  const forward = (stream: NodeJS.WritableStream) => (chunk: Buffer) => {
    for (const line of chunk.toString().split('\n')) if (line !== '') stream.write(prefix + line + '\n')
  }
  child.stdout?.on('data', forward(process.stdout))
  child.stderr?.on('data', forward(process.stderr))
  child.on('exit', (code, signal) => {
    if (stopping) return
    if (spec.oneshot === true && code === 0) return
    void shutdown(`${spec.name} exited (${signal ?? `code ${String(code)}`})`, 1)
  })
  stops.push({
    name: spec.name,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000)
      await once(child, 'exit')
      clearTimeout(timer)
    }
  })
  return child
}

// 1. Kafka
const external = process.env.KAFKA_BROKERS?.trim()
let brokers: string[]
if (external !== undefined && external !== '') {
  brokers = external.split(',').map((b) => b.trim())
  say(`using Kafka at ${brokers.join(',')} (KAFKA_BROKERS)`)
} else {
  say('starting the local Kafka (first run resolves its jars from Maven Central)...')
  try {
    const result = await startKafka('single')
    brokers = result.brokers
    if (result.started) stops.push({ name: 'Kafka', stop: async () => { await stopKafka('single') } })
    say(`Kafka ${result.started ? 'started' : 'already running'} at ${brokers.join(',')}`)
  } catch (err) {
    process.stderr.write(`runnel: could not start Kafka: ${(err as Error).message}\n`)
    process.exit(1)
  }
}

// 2. Schema registry
let registryUrl = process.env.SCHEMA_REGISTRY_URL?.trim() ?? ''
if (registryUrl !== '') {
  say(`using the schema registry at ${registryUrl} (SCHEMA_REGISTRY_URL)`)
} else {
  const port = parsePort('REGISTRY_PORT', 8081)
  say('starting the schema registry...')
  try {
    const registry = await startRegistry({ port, host: '127.0.0.1', brokers: brokers.join(','), topic: '_schemas' })
    registryUrl = registry.url
    stops.push({ name: 'schema registry', stop: () => registry.close() })
    say(`schema registry at ${registryUrl}`)
  } catch (err) {
    await shutdown(`could not start the schema registry: ${(err as Error).message}`, 1)
  }
}

// 3. Dashboard build and services
say('building the dashboard...')
try {
  await buildDashboard()
} catch (err) {
  await shutdown(`could not build the dashboard: ${(err as Error).message}`, 1)
}
const apiPort = parsePort('PORT', 4000)
const token = process.env.RUNNEL_TOKEN?.trim() || randomBytes(12).toString('base64url')
const env: NodeJS.ProcessEnv = { ...process.env, KAFKA_BROKERS: brokers.join(','), SCHEMA_REGISTRY_URL: registryUrl }
const worker = (n: number): ServiceSpec => ({
  name: `worker-${n}`,
  args: ['apps/worker.ts', 'traffic'],
  env: { INSTANCE_ID: `worker-${n}`, STATE_DIR: resolve(root, '.state', `worker-${n}`), METRICS_PORT: String(9400 + n) }
})
// The seed's JSON on `analytics`, 1% of it invalid (to analytics.dlq). The same seed for the backfill and the
// live events keeps the catalogue (names, categories, prices of products 1-50) the same in both.
const shop = ['apps/simulate.ts', 'commerce', '--format', 'seed-json', '--invalid-fraction', '0.01', '--seed', '7', '--quiet']
const services: ServiceSpec[] = [
  worker(1),
  worker(2),
  {
    name: 'commerce-worker',
    args: ['apps/worker.ts', 'commerce'],
    env: { INSTANCE_ID: 'commerce-1', STATE_DIR: resolve(root, '.state', 'commerce-1'), METRICS_PORT: '9403' }
  },
  { name: 'query-api', args: ['query-api/main.ts'], env: { PORT: String(apiPort), QUERY_API_TOKENS: `${token}:read+admin` } },
  // The last 30 minutes of traffic, so the charts have history at once, then live traffic.
  { name: 'backfill', args: ['apps/simulate.ts', 'traffic', '--count', '60000', '--sensors', '8', '--seed', '7', '--quiet'], oneshot: true },
  { name: 'simulator', args: ['apps/simulate.ts', 'traffic', '--realtime', '--count', '100000000', '--sensors', '8', '--seed', String(Date.now() % 100000), '--quiet'] },
  // The last hour of sales and ratings (one event every 250 ms), so "sales in the last hour" has data at once, then live events.
  { name: 'shop-backfill', args: [...shop, '--count', '14400'], oneshot: true },
  { name: 'shop-simulator', args: [...shop, '--realtime', '--count', '100000000'] }
]
for (const spec of services) {
  say(`starting ${spec.name}...`)
  const child = startService(spec, env)
  if (spec.oneshot === true) {
    const [code] = await once(child, 'exit') as [number | null]
    if (code !== 0) await shutdown(`${spec.name} failed`, 1)
  }
}

const url = `http://127.0.0.1:${apiPort}`
say('waiting for the query API to catch up with the output topics...')
for (let waitedMs = 0; ; waitedMs += 1000) {
  const ready = await fetch(`${url}/readyz`).then((r) => r.ok, () => false)
  if (ready) break
  if (waitedMs >= 120_000) await shutdown('the query API did not become ready within 120 s', 1)
  await new Promise((r) => setTimeout(r, 1000))
}
say('ready')
const curl = (path: string): string => `curl -H 'Authorization: Bearer ${token}' ${url}${path}`
process.stdout.write(`
  Dashboard        ${url}/#token=${token}
  API token        ${token}   (read+admin; tRPC at ${url}/trpc)
  Seed REST API    ${curl('/api/product/sale/1')}
                   ${curl('/api/product/rating/1')}
  Kafka            ${brokers.join(',')}
  Schema registry  ${registryUrl}
  Worker metrics   traffic http://127.0.0.1:9401/metrics, http://127.0.0.1:9402/metrics; commerce http://127.0.0.1:9403/metrics

Press Ctrl-C to stop everything started here.
`)
setInterval(() => undefined, 1 << 30)
