/**
 * `npm start`: the local stack on embedded defaults, in one command.
 *
 * 1. Kafka: the local broker (dev/kafka), unless KAFKA_BROKERS names a cluster.
 * 2. The schema registry (registry/), unless SCHEMA_REGISTRY_URL names one.
 * 3. The services below, each a child process with the shared environment.
 *
 * It prints progress while things start, then where everything is, and stops everything it started
 * on Ctrl-C (SIGINT) or SIGTERM, in reverse order.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { resolve } from 'node:path'
import { startKafka, stopKafka } from './kafka/cluster.ts'
import { startRegistry } from '../registry/index.ts'

const root = resolve(import.meta.dirname, '..')

/** A long-running child process of the stack. */
export interface ServiceSpec {
  name: string
  /** Arguments to `node`, relative to the project root. */
  args: string[]
  env?: Record<string, string>
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
const children: ChildProcess[] = []
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

function startService(spec: ServiceSpec, env: NodeJS.ProcessEnv): void {
  const child = spawn(process.execPath, spec.args, { cwd: root, env: { ...env, ...spec.env }, stdio: ['ignore', 'pipe', 'pipe'] })
  children.push(child)
  const prefix = `[${spec.name}] `
  const forward = (stream: NodeJS.WritableStream) => (chunk: Buffer) => {
    for (const line of chunk.toString().split('\n')) if (line !== '') stream.write(prefix + line + '\n')
  }
  child.stdout?.on('data', forward(process.stdout))
  child.stderr?.on('data', forward(process.stderr))
  child.on('exit', (code, signal) => {
    if (!stopping) void shutdown(`${spec.name} exited (${signal ?? `code ${String(code)}`})`, 1)
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

// 3. Services
const env: NodeJS.ProcessEnv = { ...process.env, KAFKA_BROKERS: brokers.join(','), SCHEMA_REGISTRY_URL: registryUrl }
const services: ServiceSpec[] = []
for (const spec of services) {
  say(`starting ${spec.name}...`)
  startService(spec, env)
}

say('ready')
process.stdout.write(`
  Kafka            ${brokers.join(',')}
  Schema registry  ${registryUrl}

Press Ctrl-C to stop everything started here.
`)
setInterval(() => undefined, 1 << 30)
