import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createAuthenticator, type RegistryUser } from './auth.ts'
import { createRequestHandler } from './http.ts'
import { type KafkaLogOptions, openKafkaLog } from './kafka-log.ts'
import type { RegistryLog } from './log.ts'
import { SchemaStore } from './store.ts'
import type { KafkaClientSupplier } from '../kafka/index.ts'

/** Options of `startRegistry`. */
export interface RegistryOptions {
  /** Port to listen on; 0 picks a free one. Default 8081. */
  port?: number
  /** Interface to listen on. Default 127.0.0.1. */
  host?: string
  /** Kafka bootstrap brokers (`host:port`), as an array or a comma-separated string. */
  brokers: readonly string[] | string
  /** Compacted one-partition topic holding the schemas. Default `_schemas`. */
  topic?: string
  /** Replication factor when the topic is created. Default min(3, brokers in the cluster). */
  replicationFactor?: number
  /** Kafka client id. Default `runnel-registry`. */
  clientId?: string
  /** Longest wait for the topic to show a write, ms (then HTTP 500, error 50002). Default 30,000. */
  timeoutMs?: number
  /** Sees unexpected failures answered with HTTP 500. Default: printed to stderr. */
  onInternalError?: (error: unknown) => void
  /**
   * Users accepted with HTTP basic auth. With users or `bearerTokens` configured, every request
   * without accepted credentials gets 401; with neither (the default) the registry is open.
   */
  basicAuthUsers?: readonly RegistryUser[]
  /** Tokens accepted as `Authorization: Bearer <token>` (see `basicAuthUsers`). */
  bearerTokens?: readonly string[]
  /** Where the Kafka clients come from (TLS, authentication, instrumentation). Default: plain clients. */
  clients?: KafkaClientSupplier
}

/** A running registry. */
export interface RunningRegistry {
  /** Base URL, e.g. `http://127.0.0.1:8081`: what `SCHEMA_REGISTRY_URL` should name. */
  readonly url: string
  readonly port: number
  /** Whether requests need credentials (basic-auth users or bearer tokens were configured). */
  readonly authenticated: boolean
  /** Stops serving and disconnects from Kafka. */
  close(): Promise<void>
}

/**
 * Starts a Confluent-compatible schema registry backed by a compacted Kafka topic: creates the topic
 * if needed, replays it to its end (so it serves every id registered before, by any instance), then
 * listens, and keeps following the topic so that registrations made by other instances appear here.
 */
export async function startRegistry(options: RegistryOptions): Promise<RunningRegistry> {
  const config = validateServing(options)
  const kafka = validateKafka(options)
  const log = await openKafkaLog(kafka)
  return serve(log, config)
}

/** Serves the registry API over any `RegistryLog` (the Kafka topic, or an in-memory log in tests). */
export async function serveRegistry(log: RegistryLog, options: ServingOptions = {}): Promise<RunningRegistry> {
  return serve(log, validateServing(options))
}

/** The options of `startRegistry` that do not concern Kafka. */
export type ServingOptions = Pick<RegistryOptions, 'port' | 'host' | 'timeoutMs' | 'onInternalError' | 'basicAuthUsers' | 'bearerTokens'>

async function serve(log: RegistryLog, config: ReturnType<typeof validateServing>): Promise<RunningRegistry> {
  const store = new SchemaStore(log, { timeoutMs: config.timeoutMs })
  try {
    await store.start()
  } catch (err) {
    await store.close().catch(() => undefined)
    throw err
  }
  const server = createServer(createRequestHandler(store, { onInternalError: config.onInternalError, authenticator: config.authenticator }))
  try {
    await listen(server, config.port, config.host)
  } catch (err) {
    await store.close().catch(() => undefined)
    throw err
  }
  const port = (server.address() as AddressInfo).port
  let closing: Promise<void> | undefined
  return {
    url: `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`,
    port,
    authenticated: config.authenticator !== undefined,
    close: () => {
      closing ??= (async () => {
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()))
        server.closeAllConnections()
        await stopped
        await store.close()
      })()
      return closing
    }
  }
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => {
      server.off('error', reject)
      resolve()
    })
  })
}

function validateServing(options: ServingOptions) {
  if (options === null || typeof options !== 'object') throw new TypeError('startRegistry: options are required')
  const port = options.port ?? 8081
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new TypeError(`startRegistry: option "port" must be an integer from 0 to 65535, got ${String(options.port)}`)
  const timeoutMs = options.timeoutMs ?? 30_000
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0)
    throw new TypeError(`startRegistry: option "timeoutMs" must be a positive number of ms, got ${String(options.timeoutMs)}`)
  if (options.basicAuthUsers !== undefined && !Array.isArray(options.basicAuthUsers))
    throw new TypeError('startRegistry: option "basicAuthUsers" must be an array of { username, password }')
  if (options.bearerTokens !== undefined && !Array.isArray(options.bearerTokens))
    throw new TypeError('startRegistry: option "bearerTokens" must be an array of strings')
  const authenticator = createAuthenticator({
    ...(options.basicAuthUsers === undefined ? {} : { basicAuthUsers: options.basicAuthUsers }),
    ...(options.bearerTokens === undefined ? {} : { bearerTokens: options.bearerTokens })
  })
  return {
    port,
    host: options.host ?? '127.0.0.1',
    timeoutMs,
    authenticator,
    onInternalError:
      options.onInternalError ??
      ((error: unknown) => {
        console.error('schema registry internal error:', error)
      })
  }
}

function validateKafka(options: RegistryOptions): KafkaLogOptions {
  const brokers =
    typeof options.brokers === 'string'
      ? options.brokers
          .split(',')
          .map((b) => b.trim())
          .filter((b) => b !== '')
      : [...(options.brokers ?? [])]
  if (brokers.length === 0) throw new TypeError('startRegistry: option "brokers" must name at least one Kafka broker (host:port)')
  const topic = options.topic ?? '_schemas'
  if (typeof topic !== 'string' || !/^[a-zA-Z0-9._-]{1,249}$/.test(topic))
    throw new TypeError(`startRegistry: option "topic" must be a valid Kafka topic name, got ${JSON.stringify(options.topic)}`)
  const rf = options.replicationFactor
  if (rf !== undefined && (!Number.isInteger(rf) || rf < 1))
    throw new TypeError(`startRegistry: option "replicationFactor" must be a positive integer, got ${String(rf)}`)
  return {
    brokers,
    topic,
    clientId: options.clientId ?? 'runnel-registry',
    ...(rf === undefined ? {} : { replicationFactor: rf }),
    ...(options.clients === undefined ? {} : { clients: options.clients })
  }
}
