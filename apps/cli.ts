/**
 * Helpers shared by the apps' workers and simulators: reading and checking environment variables
 * and flags (errors name the variable or flag), creating topics, and running a worker until a signal.
 * The traffic app predates this module and still has its own copies (same behaviour).
 */
import { Admin } from '@platformatic/kafka'
import { DEFAULT_SCHEMA_REGISTRY_URL } from '../schemas/index.ts'

/** The default bootstrap broker of the local stack. */
export const DEFAULT_BROKERS = '127.0.0.1:9092'

/** Comma-separated `host:port` list; `name` (a variable or flag) is named when it is malformed. */
export function parseBrokers(value: string | undefined, name: string): string[] {
  const brokers = (value ?? DEFAULT_BROKERS).split(',').map((b) => b.trim()).filter((b) => b !== '')
  if (brokers.length === 0 || !brokers.every((b) => /^[^\s:]+:\d{1,5}$/.test(b))) {
    throw new Error(`${name} must be comma-separated host:port, got ${JSON.stringify(value)}`)
  }
  return brokers
}

/** An http(s) registry URL (default the local one); `name` is named when it is malformed. */
export function parseRegistryUrl(value: string | undefined, name: string): string {
  const url = value === undefined || value.trim() === '' ? DEFAULT_SCHEMA_REGISTRY_URL : value.trim()
  if (!/^https?:\/\/./.test(url)) throw new Error(`${name} must be an http(s) URL, got ${JSON.stringify(url)}`)
  return url
}

/** Typed readers of environment variables: blank counts as unset, bad values throw naming the variable. */
export function envReader<TName extends string>(env: Readonly<Record<string, string | undefined>>): {
  text(name: TName): string | undefined
  integer(name: TName): number | undefined
  boolean(name: TName): boolean | undefined
} {
  const text = (name: TName): string | undefined => {
    const value = env[name]?.trim()
    return value === undefined || value === '' ? undefined : value
  }
  return {
    text,
    integer(name) {
      const value = text(name)
      if (value === undefined) return undefined
      if (!/^\d+$/.test(value) || !Number.isSafeInteger(Number(value))) throw new Error(`${name} must be a non-negative integer, got ${JSON.stringify(value)}`)
      return Number(value)
    },
    boolean(name) {
      const value = text(name)
      if (value === undefined) return undefined
      if (value === 'true' || value === '1') return true
      if (value === 'false' || value === '0') return false
      throw new Error(`${name} must be true or false, got ${JSON.stringify(value)}`)
    }
  }
}

/** A topic to create when missing. */
export interface WantedTopic {
  readonly name: string
  readonly partitions: number
  readonly configs: ReadonlyArray<{ readonly name: string; readonly value: string }>
}

/**
 * Creates the topics that do not exist (existing ones are left as they are; a concurrent creation by
 * another process is fine), then waits until every partition has a leader (30 s at most).
 */
export async function ensureTopics(brokers: readonly string[], wanted: readonly WantedTopic[], replicationFactor: number, clientId: string): Promise<void> {
  const admin = new Admin({ clientId, bootstrapBrokers: [...brokers] })
  try {
    const existing = new Set(await admin.listTopics())
    for (const topic of wanted) {
      if (existing.has(topic.name)) continue
      try {
        await admin.createTopics({ topics: [topic.name], partitions: topic.partitions, replicas: replicationFactor, configs: [...topic.configs] })
      } catch (err) {
        if (!mentions(err, 'TOPIC_ALREADY_EXISTS')) throw new Error(`cannot create topic ${topic.name}: ${(err as Error).message}`, { cause: err })
      }
    }
    const names = wanted.map((t) => t.name)
    const deadline = Date.now() + 30_000
    for (;;) {
      const metadata = await admin.metadata({ topics: names, forceUpdate: true })
      if (names.every((n) => metadata.topics.get(n)?.partitions.every((p) => p.leader >= 0) === true)) return
      if (Date.now() > deadline) throw new Error(`topics ${names.join(', ')} have no leaders after 30 s`)
      await new Promise((resolve) => setTimeout(resolve, 200))
    }
  } finally {
    await admin.close()
  }
}

function mentions(err: unknown, apiId: string): boolean {
  if (err === null || typeof err !== 'object') return false
  if ((err as { apiId?: string }).apiId === apiId) return true
  const nested = (err as { errors?: unknown[] }).errors
  return Array.isArray(nested) && nested.some((e) => mentions(e, apiId))
}

/** Resolves on SIGINT or SIGTERM, or when `onError` is called (a worker that went to ERROR). */
export function untilSignal(watchError: (stop: () => void) => void): Promise<void> {
  return new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off('SIGINT', stop)
      process.off('SIGTERM', stop)
      resolve()
    }
    process.on('SIGINT', stop)
    process.on('SIGTERM', stop)
    watchError(stop)
  })
}

/** Help lines `  NAME  what it sets` for a table of variables or flags. */
export function helpTable(entries: Readonly<Record<string, string>>, prefix = ''): string[] {
  const width = Math.max(...Object.keys(entries).map((k) => k.length + prefix.length))
  return Object.entries(entries).map(([name, what]) => `  ${(prefix + name).padEnd(width)}  ${what}`)
}
