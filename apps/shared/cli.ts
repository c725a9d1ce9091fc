/**
 * Command lines of the apps' workers and simulators: reading and checking environment variables and
 * flags (errors name the variable or flag), help tables, and waiting for a signal.
 */
import { parseArgs } from 'node:util'
import { DEFAULT_SCHEMA_REGISTRY_URL } from '../../schemas/index.ts'

/** The default bootstrap broker of the local stack. */
export const DEFAULT_BROKERS = '127.0.0.1:9092'

/** Comma-separated `host:port` list; `name` (a variable or flag) is named when it is malformed. */
export function parseBrokers(value: string | undefined, name: string): string[] {
  const brokers = (value ?? DEFAULT_BROKERS)
    .split(',')
    .map((b) => b.trim())
    .filter((b) => b !== '')
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

/** Environment variables as a process gets them. */
export type Environment = Readonly<Record<string, string | undefined>>

/** Typed readers of environment variables (see `envReader`). */
export interface EnvReader<TName extends string> {
  text(name: TName): string | undefined
  integer(name: TName): number | undefined
  boolean(name: TName): boolean | undefined
}

/** Typed readers of environment variables: blank counts as unset, bad values throw naming the variable. */
export function envReader<TName extends string>(env: Environment): EnvReader<TName> {
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

/** A command-line flag: its `node:util` `parseArgs` type and its help line. */
export interface FlagSpec {
  readonly type: 'string' | 'boolean'
  readonly help: string
}

/** Typed readers of parsed flags; bad values throw naming the flag. */
export interface FlagReader<TName extends string> {
  text(name: TName): string | undefined
  /** True when a boolean flag was given. */
  given(name: TName): boolean
  /** An integer from `min` to `max` (default: any safe integer), `fallback` when absent. */
  integer(name: TName, fallback: number, min: number, max?: number): number
  /** A fraction in [0, 1], undefined when absent. */
  fraction(name: TName): number | undefined
  /** A Kafka topic name (1-249 characters of `[A-Za-z0-9._-]`), `fallback` when absent. */
  topic(name: TName, fallback: string): string
  /** A moment as ISO-8601 text or epoch ms, undefined when absent. */
  epochMs(name: TName): number | undefined
}

const TOPIC_NAME = /^[A-Za-z0-9._-]{1,249}$/

/**
 * Parses `args` against `flags` (unknown flags and positionals are errors naming them, with a hint to
 * `--help`); `help` when `--help` is among them.
 */
export function parseFlags<TName extends string>(flags: Readonly<Record<TName, FlagSpec>>, args: readonly string[]): FlagReader<TName> | 'help' {
  let values: Record<string, string | boolean | undefined>
  try {
    const options = Object.fromEntries(Object.entries<FlagSpec>(flags).map(([name, flag]) => [name, { type: flag.type }]))
    values = parseArgs({ args: [...args], options, strict: true, allowPositionals: false }).values
  } catch (err) {
    throw new Error(`${(err as Error).message} (see --help)`, { cause: err })
  }
  if (values.help === true) return 'help'
  const text = (name: TName): string | undefined => {
    const value = values[name]
    return typeof value === 'string' ? value : undefined
  }
  return {
    text,
    given: (name) => values[name] === true,
    integer(name, fallback, min, max = Number.MAX_SAFE_INTEGER) {
      const raw = text(name)
      if (raw === undefined) return fallback
      const n = Number(raw)
      if (raw.trim() === '' || !Number.isSafeInteger(n) || n < min || n > max) {
        const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `from ${min} to ${max}`
        throw new Error(`--${name} must be an integer ${range}, got ${JSON.stringify(raw)}`)
      }
      return n
    },
    fraction(name) {
      const raw = text(name)
      if (raw === undefined) return undefined
      const n = Number(raw)
      if (raw.trim() === '' || !(n >= 0 && n <= 1)) throw new Error(`--${name} must be a fraction in [0, 1], got ${JSON.stringify(raw)}`)
      return n
    },
    topic(name, fallback) {
      const value = text(name) ?? fallback
      if (!TOPIC_NAME.test(value)) throw new Error(`--${name} must be 1-249 characters of [A-Za-z0-9._-], got ${JSON.stringify(value)}`)
      return value
    },
    epochMs(name) {
      const raw = text(name)
      if (raw === undefined) return undefined
      const ms = /^\d+$/.test(raw) ? Number(raw) : Date.parse(raw)
      if (!Number.isSafeInteger(ms) || ms < 0) throw new Error(`--${name} must be an ISO-8601 time or epoch ms, got ${JSON.stringify(raw)}`)
      return ms
    }
  }
}

/** The `--help` text of a command: its title line, then one line per flag. */
export function flagsUsage(title: string, flags: Readonly<Record<string, FlagSpec>>): string {
  return [title, '', ...helpTable(Object.fromEntries(Object.entries(flags).map(([name, flag]) => [name, flag.help])), '--'), ''].join('\n')
}

/** `T` with its properties that may be undefined made optional instead (`exactOptionalPropertyTypes`). */
export type Defined<T> = { [K in keyof T as undefined extends T[K] ? never : K]: T[K] } & {
  [K in keyof T as undefined extends T[K] ? K : never]?: Exclude<T[K], undefined>
}

/** `value` without its undefined properties (options objects under `exactOptionalPropertyTypes`). */
export function withoutUndefined<T extends object>(value: T): Defined<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Defined<T>
}
