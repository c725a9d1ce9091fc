/**
 * A small client of the Confluent schema registry REST API: what the serdes need (register, look up,
 * fetch by id), cached, over the global `fetch`. Works against Runnel's registry (registry/) and any
 * Confluent-compatible one.
 */

/** Content type of the Confluent REST API, requests and responses. */
export const SCHEMA_REGISTRY_CONTENT_TYPE = 'application/vnd.schemaregistry.v1+json'

/** Default registry address when `SCHEMA_REGISTRY_URL` is not set. */
export const DEFAULT_SCHEMA_REGISTRY_URL = 'http://127.0.0.1:8081'

/** The registry URL Runnel processes use: `SCHEMA_REGISTRY_URL`, else http://127.0.0.1:8081. */
export function schemaRegistryUrlFromEnv(env: Record<string, string | undefined> = process.env): string {
  const url = env.SCHEMA_REGISTRY_URL?.trim()
  return url === undefined || url === '' ? DEFAULT_SCHEMA_REGISTRY_URL : url
}

/** Credentials for a registry that requires them: basic auth (Confluent's `basic.auth.user.info`) or a bearer token. */
export type SchemaRegistryAuth = { readonly basic: { readonly username: string; readonly password: string } } | { readonly bearerToken: string }

/**
 * Registry credentials from the environment, Confluent's names: `SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO`
 * (`user:password`) or `SCHEMA_REGISTRY_BEARER_AUTH_TOKEN`; undefined when neither is set. Setting
 * both, or a user info without a colon, throws naming the variable.
 */
export function schemaRegistryAuthFromEnv(env: Record<string, string | undefined> = process.env): SchemaRegistryAuth | undefined {
  const userInfo = env.SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO?.trim() || undefined
  const token = env.SCHEMA_REGISTRY_BEARER_AUTH_TOKEN?.trim() || undefined
  if (userInfo !== undefined && token !== undefined) {
    throw new TypeError('set SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO or SCHEMA_REGISTRY_BEARER_AUTH_TOKEN, not both')
  }
  if (token !== undefined) return { bearerToken: token }
  if (userInfo === undefined) return undefined
  const colon = userInfo.indexOf(':')
  if (colon <= 0) throw new TypeError('SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO must be user:password')
  return { basic: { username: userInfo.slice(0, colon), password: userInfo.slice(colon + 1) } }
}

/** A registry answer other than 2xx, or a request that did not get an answer. */
export class SchemaRegistryRequestError extends Error {
  /** HTTP status; 0 when no response arrived (connection refused, timeout). */
  readonly status: number
  /** Confluent `error_code` of the body (e.g. 40403 schema not found), when there was one. */
  readonly errorCode: number | undefined
  constructor(message: string, status: number, errorCode: number | undefined, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'SchemaRegistryRequestError'
    this.status = status
    this.errorCode = errorCode
  }
}

/** A schema as the registry stores it. */
export interface RegistrySchema {
  /** Schema text (the registry's canonical form). */
  readonly schema: string
  /** `AVRO` unless the registry says otherwise (Confluent omits the field for Avro). */
  readonly schemaType: string
}

/** Options of `SchemaRegistryClient`. */
export interface SchemaRegistryClientOptions {
  /** Base URL of the registry, e.g. `http://127.0.0.1:8081` (see `schemaRegistryUrlFromEnv`). */
  url: string
  /** Time limit of one request, ms. Default 10,000. */
  requestTimeoutMs?: number
  /** The `fetch` to use; default the global one. */
  fetch?: typeof fetch
  /** Credentials sent with every request (see `schemaRegistryAuthFromEnv`). */
  auth?: SchemaRegistryAuth
}

/**
 * Registry client with caches: a schema registered (or looked up) under a subject and a schema
 * fetched by id are asked for once per client; concurrent identical requests share one call.
 * Failures are not cached.
 */
export class SchemaRegistryClient {
  readonly url: string
  private readonly timeoutMs: number
  private readonly fetch_: typeof fetch
  private readonly authorization: string | undefined
  private readonly ids = new Map<string, Promise<number>>()
  private readonly schemas = new Map<number, Promise<RegistrySchema>>()

  constructor(options: SchemaRegistryClientOptions) {
    if (typeof options?.url !== 'string' || !/^https?:\/\/./.test(options.url)) {
      throw new TypeError(`SchemaRegistryClient: option "url" must be an http(s) URL, got ${JSON.stringify(options?.url)}`)
    }
    const timeout = options.requestTimeoutMs ?? 10_000
    if (!Number.isFinite(timeout) || timeout <= 0) {
      throw new TypeError(`SchemaRegistryClient: option "requestTimeoutMs" must be a positive number of ms, got ${String(options.requestTimeoutMs)}`)
    }
    this.url = options.url.replace(/\/+$/, '')
    this.timeoutMs = timeout
    this.fetch_ = options.fetch ?? fetch
    this.authorization = authorizationOf(options.auth)
  }

  /** Registers `schema` (Avro text) under `subject` and returns its global id (existing or new). */
  register(subject: string, schema: string): Promise<number> {
    return this.cached(this.ids, `register\0${subject}\0${schema}`, async () => {
      const body = (await this.request('POST', `/subjects/${encodeURIComponent(subject)}/versions`, { schema })) as { id?: unknown }
      return expectId(body.id, `register under ${subject}`)
    })
  }

  /** The id of `schema` if it is registered under `subject`; rejects with status 404 if not. */
  lookup(subject: string, schema: string): Promise<number> {
    return this.cached(this.ids, `lookup\0${subject}\0${schema}`, async () => {
      const body = (await this.request('POST', `/subjects/${encodeURIComponent(subject)}`, { schema })) as { id?: unknown }
      return expectId(body.id, `lookup under ${subject}`)
    })
  }

  /** The schema with global id `id`; rejects with status 404 (error code 40403) if there is none. */
  schemaById(id: number): Promise<RegistrySchema> {
    return this.cached(this.schemas, id, async () => {
      const body = (await this.request('GET', `/schemas/ids/${id}`)) as { schema?: unknown; schemaType?: unknown }
      if (typeof body.schema !== 'string') throw new SchemaRegistryRequestError(`registry answer for schema ${id} has no schema text`, 200, undefined)
      return { schema: body.schema, schemaType: typeof body.schemaType === 'string' ? body.schemaType : 'AVRO' }
    })
  }

  private cached<K, V>(cache: Map<K, Promise<V>>, key: K, load: () => Promise<V>): Promise<V> {
    const hit = cache.get(key)
    if (hit !== undefined) return hit
    const pending = load()
    cache.set(key, pending)
    pending.catch(() => cache.delete(key))
    return pending
  }

  private async request(method: string, path: string, body?: unknown): Promise<unknown> {
    const target = `${this.url}${path}`
    let response: Response
    try {
      response = await this.fetch_(target, {
        method,
        headers: {
          'content-type': SCHEMA_REGISTRY_CONTENT_TYPE,
          accept: `${SCHEMA_REGISTRY_CONTENT_TYPE}, application/json`,
          ...(this.authorization === undefined ? {} : { authorization: this.authorization })
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(this.timeoutMs)
      })
    } catch (err) {
      throw new SchemaRegistryRequestError(`${method} ${target} failed: ${(err as Error).message}`, 0, undefined, { cause: err })
    }
    const text = await response.text()
    let parsed: unknown
    try {
      parsed = text === '' ? {} : JSON.parse(text)
    } catch (err) {
      throw new SchemaRegistryRequestError(
        `${method} ${target}: HTTP ${response.status} with a body that is not JSON: ${text.slice(0, 200)}`,
        response.status,
        undefined,
        { cause: err }
      )
    }
    if (!response.ok) {
      const { error_code: errorCode, message } = (parsed ?? {}) as { error_code?: unknown; message?: unknown }
      throw new SchemaRegistryRequestError(
        `${method} ${target}: HTTP ${response.status}${typeof message === 'string' ? `: ${message}` : ''}`,
        response.status,
        typeof errorCode === 'number' ? errorCode : undefined
      )
    }
    return parsed ?? {}
  }
}

function expectId(id: unknown, what: string): number {
  if (typeof id !== 'number' || !Number.isInteger(id)) throw new SchemaRegistryRequestError(`registry answer to ${what} has no integer id`, 200, undefined)
  return id
}

/** The Authorization header of `auth`; throws naming the option when it is malformed. */
function authorizationOf(auth: SchemaRegistryAuth | undefined): string | undefined {
  if (auth === undefined) return undefined
  if ('bearerToken' in auth) {
    if (typeof auth.bearerToken !== 'string' || !/^[\x21-\x7e]+$/.test(auth.bearerToken)) {
      throw new TypeError('SchemaRegistryClient: option "auth.bearerToken" must be a non-empty string of printable ASCII without spaces')
    }
    return `Bearer ${auth.bearerToken}`
  }
  const { username, password } = auth.basic ?? {}
  if (typeof username !== 'string' || username === '' || username.includes(':') || typeof password !== 'string') {
    throw new TypeError('SchemaRegistryClient: option "auth.basic" must be { username (non-empty, no ":"), password }')
  }
  return `Basic ${Buffer.from(`${username}:${password}`, 'utf8').toString('base64')}`
}
