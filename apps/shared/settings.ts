/**
 * The building blocks of the apps' settings schemas (topic names, durations, partition counts, the
 * topics by role), each setting declared once with its default, check, doc and worker variable;
 * parsing that throws the app's own `AppConfigError` subclass naming the bad option; the worker
 * variables and `--help` rows read off a schema; and the serde of the string keys of the apps' stores.
 */
import { z } from 'zod'
import { RunnelError } from '../../errors/index.ts'
import { optionDocs } from '../../runtime/index.ts'
import type { Serde } from '../../schemas/index.ts'

/** A bad setting of an app; `option` names it (a worker maps it to its environment variable). */
export class AppConfigError extends RunnelError<string> {
  readonly option: string
  /** `code`: stable code of the app's configuration errors, e.g. `TRAFFIC_BAD_OPTION`. */
  constructor(code: string, option: string, message: string) {
    super(code, `${option}: ${message}`)
    this.option = option
  }
}

/** Makes the app's error for a bad option. */
export type ConfigErrorFactory = (option: string, message: string) => AppConfigError

/** How a worker reads a setting's variable (see `AppVariables`). */
export type SettingKind = 'integer' | 'text' | 'boolean'

/** `env` metadata of a setting: the worker's variable that sets it, and how it is read. */
export function settingVariable(
  variable: string,
  kind: SettingKind = 'integer',
  defaultText?: string
): { env: string; envKind: SettingKind; defaultText?: string } {
  return { env: variable, envKind: kind, ...(defaultText === undefined ? {} : { defaultText }) }
}

const TOPIC_NAME = /^[A-Za-z0-9._-]{1,249}$/

/** A zod error message `<what>, got <the value>`. */
function got(what: string): (issue: { readonly input?: unknown }) => string {
  return (issue) => `${what}, got ${JSON.stringify(issue.input)}`
}

/** A Kafka topic name: 1-249 characters of `[A-Za-z0-9._-]`. */
export function topicNameSchema(): z.ZodString {
  const error = got('must be 1-249 characters of [A-Za-z0-9._-]')
  return z.string({ error }).regex(TOPIC_NAME, { error })
}

/** An integer number of ms >= `minimum`. */
export function durationMsSchema(minimum: number): z.ZodInt {
  const error = got(`must be an integer number of ms >= ${minimum}`)
  return z.int({ error }).min(minimum, { error })
}

/** A partition count from 1 to 10,000. */
export function partitionsSchema(): z.ZodInt {
  const error = got('must be an integer from 1 to 10000')
  return z.int({ error }).min(1, { error }).max(10_000, { error })
}

/**
 * The app's topics by role (option `topics.<role>`): each role's name defaults to `defaults` and is
 * set by its variable in `variables`, `doc` says what the topic is. Unknown roles are refused.
 */
export function topicsSchema<TRole extends string>(
  defaults: Readonly<Record<TRole, string>>,
  variables: Readonly<Record<TRole, string>>,
  docs: Readonly<Record<TRole, string>>
): z.ZodObject<Record<TRole, z.ZodDefault<z.ZodString>>, z.core.$strict> {
  const roles = Object.keys(defaults) as TRole[]
  const shape = Object.fromEntries(
    roles.map((role) => [role, topicNameSchema().default(defaults[role]).meta(settingVariable(variables[role], 'text')).describe(docs[role])])
  ) as Record<TRole, z.ZodDefault<z.ZodString>>
  return z.strictObject(shape)
}

/** Defaults of the settings every windowed app has. */
export interface WindowedAppDefaults {
  readonly graceMs: number
  readonly outputRetentionMs: number
  /** Shown only: the store retention's default is derived from the grace by the app. */
  readonly storeRetentionMs: number
  readonly inputPartitions: number
  readonly outputPartitions: number
}

/** What the windowed app's own settings mean (their docs). */
export interface WindowedAppDocs {
  readonly graceMs: string
  readonly storeRetentionMs: string
  readonly inputPartitions: string
  readonly outputPartitions: string
}

/**
 * The settings every windowed app has (grace, retention of outputs and stores, partition counts),
 * set by the variables `<prefix>_GRACE_MS`, `<prefix>_RETENTION_MS`, `<prefix>_STORE_RETENTION_MS`,
 * `<prefix>_INPUT_PARTITIONS` and `<prefix>_OUTPUT_PARTITIONS`: part of the app's schema.
 */
export function windowedAppSettings(
  prefix: string,
  defaults: WindowedAppDefaults,
  docs: WindowedAppDocs
): {
  graceMs: z.ZodDefault<z.ZodInt>
  outputRetentionMs: z.ZodDefault<z.ZodInt>
  storeRetentionMs: z.ZodOptional<z.ZodInt>
  inputPartitions: z.ZodDefault<z.ZodInt>
  outputPartitions: z.ZodDefault<z.ZodInt>
} {
  return {
    graceMs: durationMsSchema(0)
      .default(defaults.graceMs)
      .meta(settingVariable(`${prefix}_GRACE_MS`))
      .describe(docs.graceMs),
    outputRetentionMs: durationMsSchema(1)
      .default(defaults.outputRetentionMs)
      .meta(settingVariable(`${prefix}_RETENTION_MS`))
      .describe('retention.ms of the output topics'),
    storeRetentionMs: durationMsSchema(1)
      .optional()
      .meta(settingVariable(`${prefix}_STORE_RETENTION_MS`, 'integer', String(defaults.storeRetentionMs)))
      .describe(docs.storeRetentionMs),
    inputPartitions: partitionsSchema()
      .default(defaults.inputPartitions)
      .meta(settingVariable(`${prefix}_INPUT_PARTITIONS`))
      .describe(docs.inputPartitions),
    outputPartitions: partitionsSchema()
      .default(defaults.outputPartitions)
      .meta(settingVariable(`${prefix}_OUTPUT_PARTITIONS`))
      .describe(docs.outputPartitions)
  }
}

/**
 * Parses `settings` with `schema` (an app's settings), throwing the app's error for the first bad
 * one: the option is its path (`topics.stats1m`); an unknown topic role is named as `topics.<role>`.
 * Keys the schema does not know at the top are left out: a worker hands its whole options object,
 * whose other keys are the runtime's and checked there.
 */
export function parseSettings<TSchema extends z.ZodObject>(schema: TSchema, settings: unknown, fail: ConfigErrorFactory): z.output<TSchema> {
  if (typeof settings !== 'object' || settings === null) throw fail('settings', 'must be an object')
  const parsed = schema.safeParse(settings)
  if (parsed.success) return parsed.data
  const issue = parsed.error.issues.find((i) => i.code === 'unrecognized_keys') ?? parsed.error.issues[0]
  const path = (issue?.path ?? []).map(String).join('.')
  if (issue?.code === 'unrecognized_keys') {
    const nested = unwrapped(schema.shape[path] as z.ZodType)
    const known = nested instanceof z.ZodObject ? Object.keys(nested.shape) : []
    throw fail(`${path}.${String(issue.keys[0])}`, `unknown topic role; known: ${known.join(', ')}`)
  }
  throw fail(path === '' ? 'settings' : path, issue?.message ?? 'is invalid')
}

/** Throws (option `topics`) unless the names are distinct; `described` is shown in the message. */
export function checkDistinctTopics(names: readonly string[], described: object, fail: ConfigErrorFactory): void {
  if (new Set(names).size !== names.length) throw fail('topics', `the topics must be distinct, got ${JSON.stringify(described)}`)
}

/** The schema inside a default (the topics' object is one). */
function unwrapped(field: z.ZodType): z.ZodType {
  return field instanceof z.ZodDefault || field instanceof z.ZodPrefault ? unwrapped(field.unwrap() as z.ZodType) : field
}

/** Every setting of `schema` with its path (`topics.<role>` for the topics), in declaration order. */
function settingLeaves(schema: z.ZodObject): Array<[string, z.ZodType]> {
  return Object.entries(schema.shape).flatMap(([key, field]): Array<[string, z.ZodType]> => {
    const inner = unwrapped(field)
    return inner instanceof z.ZodObject ? Object.entries(inner.shape).map(([role, f]) => [`${key}.${role}`, f as z.ZodType]) : [[key, field]]
  })
}

/** The variables of an app's settings, by kind, as `appWorkerOptionsFromEnv` reads them. */
export function settingVariables(schema: z.ZodObject): {
  topics: Record<string, string>
  integers: Record<string, string>
  texts: Record<string, string>
  booleans: Record<string, string>
} {
  const variables = {
    topics: {} as Record<string, string>,
    integers: {} as Record<string, string>,
    texts: {} as Record<string, string>,
    booleans: {} as Record<string, string>
  }
  for (const [path, field] of settingLeaves(schema)) {
    const meta = field.meta()
    if (typeof meta?.env !== 'string') continue
    if (path.startsWith('topics.')) variables.topics[meta.env] = path.slice('topics.'.length)
    else if (meta.envKind === 'text') variables.texts[path] = meta.env
    else if (meta.envKind === 'boolean') variables.booleans[path] = meta.env
    else variables.integers[path] = meta.env
  }
  return variables
}

/** The `--help` rows of an app's settings: each variable with its doc and default. */
export function settingsHelp(schema: z.ZodObject): Record<string, string> {
  const rows: Record<string, string> = {}
  for (const [path, field] of settingLeaves(schema)) {
    const meta = field.meta()
    if (typeof meta?.env !== 'string') continue
    const [doc] = optionDocs(z.object({ [path]: field }))
    rows[meta.env] = `${doc?.doc ?? ''} (default ${(doc?.defaultText ?? '').replaceAll('`', '')})`
  }
  return rows
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
