/**
 * Checks of the apps' settings (topic names, durations, partition counts), each throwing the app's
 * own `AppConfigError` subclass that names the bad option, and the serde of the string keys of the
 * apps' stores.
 */
import type { Serde } from '../../schemas/index.ts'

/** A bad setting of an app; `option` names it (a worker maps it to its environment variable). */
export class AppConfigError extends Error {
  /** Stable code of the app's configuration errors, e.g. `TRAFFIC_BAD_OPTION`. */
  readonly code: string
  readonly option: string
  constructor(code: string, option: string, message: string) {
    super(`${option}: ${message}`)
    this.name = 'AppConfigError'
    this.code = code
    this.option = option
  }
}

/** Makes the app's error for a bad option. */
export type ConfigErrorFactory = (option: string, message: string) => AppConfigError

/** Checks of settings that throw the app's error (see `settingChecks`). */
export interface SettingChecks {
  /** An integer number of ms >= `minimum`; `fallback` when undefined. */
  durationMs(option: string, value: unknown, fallback: number, minimum: number): number
  /** A partition count from 1 to 10,000; `fallback` when undefined. */
  partitions(option: string, value: unknown, fallback: number): number
  /** A Kafka topic name: 1-249 characters of `[A-Za-z0-9._-]`. */
  topicName(option: string, value: unknown): string
  /**
   * The app's topics by role: `defaults` with the names of `overrides` (option `topics.<role>`) checked
   * and put in; unknown roles are errors.
   */
  topics<TRole extends string>(defaults: Readonly<Record<TRole, string>>, overrides: Readonly<Partial<Record<TRole, string>>> | undefined): Record<TRole, string>
  /** Throws (option `topics`) unless the names are distinct; `described` is shown in the message. */
  distinct(names: readonly string[], described: object): void
}

const TOPIC_NAME = /^[A-Za-z0-9._-]{1,249}$/

/** The checks of one app, throwing the errors `fail` makes. */
export function settingChecks(fail: ConfigErrorFactory): SettingChecks {
  const topicName = (option: string, value: unknown): string => {
    if (typeof value !== 'string' || !TOPIC_NAME.test(value)) throw fail(option, `must be 1-249 characters of [A-Za-z0-9._-], got ${JSON.stringify(value)}`)
    return value
  }
  return {
    durationMs(option, value, fallback, minimum) {
      if (value === undefined) return fallback
      if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < minimum) {
        throw fail(option, `must be an integer number of ms >= ${minimum}, got ${JSON.stringify(value)}`)
      }
      return value
    },
    partitions(option, value, fallback) {
      if (value === undefined) return fallback
      if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > 10_000) {
        throw fail(option, `must be an integer from 1 to 10000, got ${JSON.stringify(value)}`)
      }
      return value
    },
    topicName,
    topics<TRole extends string>(defaults: Readonly<Record<TRole, string>>, overrides: Readonly<Partial<Record<TRole, string>>> | undefined) {
      const topics: Record<TRole, string> = { ...defaults }
      for (const [role, value] of Object.entries<string | undefined>(overrides ?? {})) {
        if (!(role in defaults)) throw fail(`topics.${role}`, `unknown topic role; known: ${Object.keys(defaults).join(', ')}`)
        if (value !== undefined) topics[role as TRole] = topicName(`topics.${role}`, value)
      }
      return topics
    },
    distinct(names, described) {
      if (new Set(names).size !== names.length) throw fail('topics', `the topics must be distinct, got ${JSON.stringify(described)}`)
    }
  }
}

/**
 * UTF-8 string keys of the apps' stores and repartition topics, in buffers of their own. Record
 * caches keep key and value buffers for as long as an entry lives; a small buffer from Node's
 * shared 8 KiB allocation pool would keep its whole pool slab alive with it.
 */
export const storeKeySerde: Serde<string> = {
  serialize: (_topic, value) => {
    const out = Buffer.allocUnsafeSlow(Buffer.byteLength(value, 'utf8'))
    out.write(value, 0, 'utf8')
    return out
  },
  deserialize: (_topic, data) => data.toString('utf8')
}
