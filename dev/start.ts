/**
 * `npm start`: the local stack of both apps (traffic and commerce) on embedded defaults, in one command.
 *
 * 1. Kafka: the local broker (dev/kafka, on `KAFKA_PORT`), unless KAFKA_BROKERS names a cluster.
 * 2. The schema registry (registry/, in this process), unless SCHEMA_REGISTRY_URL names one.
 * 3. The dashboard build (dashboard/dist), then child processes under a supervisor (dev/supervisor/):
 *    2 traffic workers and a commerce worker, the query API serving the dashboard and the seed's
 *    REST endpoints, the traffic simulator and the shop simulator (the seed's JSON on `analytics`,
 *    through the commerce worker's bridge, with a share of invalid events).
 *
 * Restart-safe demo data: each simulator runs with `--continue`. On an empty input topic it first
 * writes the recent past (30 minutes of traffic, an hour of the shop), at once and up to now, then
 * goes on in real time from the same model; on a topic with data it writes no history and continues
 * after the newest record (or from now when that is old), so another start never doubles a minute
 * nor sends records behind the workers' stream time.
 *
 * A child that exits is restarted with a backoff (1 s doubling to 30 s). SIGINT (Ctrl-C), SIGTERM,
 * SIGHUP, or the end of the parent process (npm's `sh -c` dies of npm's forwarded SIGTERM) stop
 * everything started here in reverse order: simulators, query API, workers, registry, Kafka. Every
 * name and port is set by a variable (dev/start/config.ts, the README's table).
 */
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { resolve } from 'node:path'
import { startKafka, stopKafka } from './kafka/cluster.ts'
import { startRegistry } from '../registry/index.ts'
import { schemaRegistryAuthFromEnv } from '../schemas/index.ts'
import { buildDashboard } from '../dashboard/index.ts'
import { childEnv, startConfigFromEnv, type StartConfig } from './start/config.ts'
import { Supervisor, type ServiceSpec } from './supervisor/supervisor.ts'

const root = resolve(import.meta.dirname, '..')

function say(message: string): void {
  process.stdout.write(`runnel: ${message}\n`)
}

let config: StartConfig
try {
  config = startConfigFromEnv(process.env, root)
} catch (err) {
  process.stderr.write(`runnel: ${(err as Error).message}\n`)
  process.exit(2)
}

const stops: Array<{ name: string; stop: () => Promise<void> }> = []
let stopping = false
const supervisor = new Supervisor({ cwd: root, env: process.env, log: say })

async function shutdown(reason: string, code: number): Promise<void> {
  if (stopping) return
  stopping = true
  say(`${reason}: stopping...`)
  await supervisor.stopAll((name) => say(`stopped ${name}`))
  for (const { name, stop } of stops.reverse()) {
    try {
      await stop()
      say(`stopped ${name}`)
    } catch (err) {
      say(`error while stopping ${name}: ${(err as Error).message}`)
    }
  }
  say('everything started here is stopped')
  process.exit(code)
}
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => void shutdown(signal, 0))
// npm runs `sh -c "sh dev/node/with-node.sh node dev/start.ts"`: on SIGTERM npm forwards it to that
// `sh -c`, which dies without passing it on; this process is then re-parented. Stop then as well.
const parentPid = process.ppid
setInterval(() => {
  if (process.ppid !== parentPid) void shutdown(`the parent process (pid ${parentPid}) is gone`, 0)
}, 500).unref()

/** Runs `step`; on failure stops what was started and exits 1 naming `what`. */
async function orFail<T>(what: string, step: () => Promise<T>): Promise<T> {
  try {
    return await step()
  } catch (err) {
    await shutdown(`could not ${what}: ${(err as Error).message}`, 1)
    throw err
  }
}

say(`npm start: supervisor pid ${process.pid}`)

// 1. Kafka
let brokers: readonly string[]
if (config.brokers !== undefined) {
  brokers = config.brokers
  say(`using Kafka at ${brokers.join(',')} (KAFKA_BROKERS)`)
} else {
  say('starting the local Kafka (first run resolves its jars from Maven Central)...')
  const port = config.kafkaPort
  const result = await orFail('start Kafka', () => startKafka('single', { port }))
  brokers = result.brokers
  if (result.started) {
    stops.push({
      name: 'Kafka',
      stop: async () => {
        await stopKafka('single', { port })
      }
    })
    // Stops the broker if this process dies without doing so (SIGKILL): it waits for the end of its stdin pipe.
    spawn(process.execPath, [resolve(import.meta.dirname, 'supervisor/kafka-watchdog.ts'), String(port)], {
      cwd: root,
      detached: true,
      stdio: ['pipe', 'ignore', 'inherit']
    }).unref()
  }
  say(`Kafka ${result.started ? 'started' : 'already running (left running when stopping)'} at ${brokers.join(',')}`)
}

// 2. Schema registry. With client credentials in the environment (SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO
// or SCHEMA_REGISTRY_BEARER_AUTH_TOKEN, which every child inherits and sends), the embedded registry
// accepts only those.
const clientAuth = schemaRegistryAuthFromEnv(process.env)
const registryCredentials =
  clientAuth === undefined ? {} : 'basic' in clientAuth ? { basicAuthUsers: [clientAuth.basic] } : { bearerTokens: [clientAuth.bearerToken] }
let registryUrl = config.registryUrl
if (registryUrl !== undefined) {
  say(`using the schema registry at ${registryUrl} (SCHEMA_REGISTRY_URL)`)
} else {
  say('starting the schema registry...')
  const registry = await orFail('start the schema registry', () =>
    startRegistry({ port: config.registryPort, host: '127.0.0.1', brokers: brokers.join(','), topic: config.registryTopic, ...registryCredentials })
  )
  registryUrl = registry.url
  stops.push({ name: 'schema registry', stop: () => registry.close() })
  say(`schema registry at ${registryUrl}`)
}

// 3. Dashboard build and services
if (config.buildDashboard) {
  say('building the dashboard...')
  await orFail('build the dashboard', () => buildDashboard())
}
const token = config.token ?? randomBytes(12).toString('base64url')
const [metrics1, metrics2, metrics3] = config.metricsPorts
const state = (name: string): string => resolve(config.stateDir, `${config.prefix}${name}`)
const trafficWorker = (n: number, metricsPort: number): ServiceSpec => ({
  name: `worker-${n}`,
  args: ['apps/worker.ts', 'traffic'],
  env: { APPLICATION_ID: config.applicationIds.traffic, INSTANCE_ID: `worker-${n}`, STATE_DIR: state(`worker-${n}`), METRICS_PORT: String(metricsPort) }
})
// The seed's JSON on `analytics`, 1% of it invalid (to analytics.dlq), one event every 250 ms. One seed
// for every start keeps the catalogue (names, categories, prices of products 1-50) the same.
const shop = [
  'apps/simulate.ts',
  'commerce',
  '--format',
  'seed-json',
  '--invalid-fraction',
  '0.01',
  '--seed',
  '7',
  '--quiet',
  '--continue',
  String(config.shopBackfillMs),
  '--count',
  '1000000000'
]
const services: ServiceSpec[] = [
  trafficWorker(1, metrics1),
  trafficWorker(2, metrics2),
  {
    name: 'commerce-worker',
    args: ['apps/worker.ts', 'commerce'],
    env: { APPLICATION_ID: config.applicationIds.commerce, INSTANCE_ID: 'commerce-1', STATE_DIR: state('commerce-1'), METRICS_PORT: String(metrics3) }
  },
  {
    name: 'query-api',
    args: ['query-api/main.ts'],
    env: { PORT: String(config.apiPort), QUERY_API_TOKENS: `${token}:read+admin`, STATE_DIR: state('query-api'), INSTANCE_ID: 'query-api-1' }
  },
  // 8 sensors, about 40 observations a second; one seed for every start keeps the sensors' geometry.
  {
    name: 'simulator',
    args: ['apps/simulate.ts', 'traffic', '--continue', String(config.trafficBackfillMs), '--count', '1000000000', '--sensors', '8', '--seed', '7', '--quiet']
  },
  { name: 'shop-simulator', args: shop }
]
const common = { ...childEnv(config), KAFKA_BROKERS: brokers.join(','), SCHEMA_REGISTRY_URL: registryUrl }
for (const spec of services) {
  if (stopping) break
  supervisor.start({ ...spec, env: { ...common, ...spec.env } })
}

const url = `http://127.0.0.1:${config.apiPort}`
say('waiting for the query API to catch up with the output topics...')
for (let waitedMs = 0; !stopping; waitedMs += 1000) {
  const ready = await fetch(`${url}/readyz`).then(
    (r) => r.ok,
    () => false
  )
  if (ready) break
  if (waitedMs > 0 && waitedMs % 30_000 === 0) say(`still waiting for ${url}/readyz (${waitedMs / 1000} s)`)
  await new Promise((r) => setTimeout(r, 1000))
}
if (!stopping) {
  say('ready')
  const curl = (path: string): string => `curl -H 'Authorization: Bearer ${token}' ${url}${path}`
  const metrics = (port: number): string => `http://127.0.0.1:${port}/metrics`
  process.stdout.write(`
  Dashboard        ${url}/#token=${token}
  API token        ${token}   (read+admin; tRPC at ${url}/trpc)
  Seed REST API    ${curl('/api/product/sale/1')}
                   ${curl('/api/product/rating/1')}
  Kafka            ${brokers.join(',')}
  Schema registry  ${registryUrl}
  Worker metrics   traffic ${metrics(metrics1)}, ${metrics(metrics2)}; commerce ${metrics(metrics3)}
  Topics           ${config.trafficTopics.observations}, ${config.commerceTopics.analytics} (inputs); applications ${config.applicationIds.traffic}, ${config.applicationIds.commerce}

Press Ctrl-C to stop everything started here.
`)
}
setInterval(() => undefined, 1 << 30)
