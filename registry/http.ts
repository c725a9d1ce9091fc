import type { IncomingMessage, ServerResponse } from 'node:http'
import type { RegistryAuthenticator } from './auth.ts'
import { parseCompatibilityLevel } from './compatibility.ts'
import {
  invalidCompatibilityLevel,
  invalidSchema,
  invalidSubject,
  invalidVersion,
  isNotFound,
  RegistryError,
  RegistryErrorCodes,
  schemaNotFound,
  subjectConfigNotFound,
  subjectNotFound
} from './errors.ts'
import type { SchemaStore, VersionRef } from './store.ts'

/**
 * The Confluent schema registry REST API over a `SchemaStore`. Requests and responses are
 * `application/vnd.schemaregistry.v1+json`; errors are `{ error_code, message }` with Confluent's
 * codes. Avro only. `normalize=true` is accepted and changes nothing: schemas are always compared
 * and stored in canonical form (see schemas/avro-canonical.ts).
 *
 * Writes (POST, PUT, and a DELETE that carries a body) must declare one of Confluent's request
 * types, else 415 as Confluent answers: a web page can send `text/plain` or form-encoded requests
 * cross-origin without a CORS preflight, and must not be able to register schemas or lower the
 * compatibility level that way. With credentials configured, every request needs them (401).
 */

const CONTENT_TYPE = 'application/vnd.schemaregistry.v1+json'
/** Request media types Confluent's registry consumes (its `application/octet-stream` is left out). */
const WRITE_MEDIA_TYPES: ReadonlySet<string> = new Set(['application/vnd.schemaregistry.v1+json', 'application/vnd.schemaregistry+json', 'application/json'])
const WRITE_METHODS: ReadonlySet<string> = new Set(['POST', 'PUT', 'DELETE'])
const MAX_BODY_BYTES = 16 * 1024 * 1024

interface Request {
  readonly method: string
  readonly segments: readonly string[]
  readonly query: URLSearchParams
  readonly body: () => Promise<Record<string, unknown>>
}

type Handler = (req: Request) => Promise<unknown>

/** What the HTTP layer needs besides the store. */
export interface RequestHandlerOptions {
  /** Sees unexpected failures (answered 500/50001). */
  readonly onInternalError: (error: unknown) => void
  /** Checks credentials on every request; undefined: an open registry. */
  readonly authenticator?: RegistryAuthenticator | undefined
}

/** Handles one HTTP request. */
export function createRequestHandler(store: SchemaStore, options: RequestHandlerOptions): (req: IncomingMessage, res: ServerResponse) => void {
  const api = routes(store)
  const { onInternalError, authenticator } = options
  return (req, res) => {
    if (authenticator !== undefined && !authenticator.accepts(req.headers.authorization)) {
      // Connection: close, so that the refused body is never read.
      send(res, 401, { error_code: 401, message: 'Unauthorized' }, { 'www-authenticate': [...authenticator.challenges], connection: 'close' })
      return
    }
    const method = req.method ?? 'GET'
    if (WRITE_METHODS.has(method) && (method !== 'DELETE' || hasBody(req)) && !acceptedContentType(req.headers['content-type'])) {
      send(res, 415, { error_code: 415, message: 'HTTP 415 Unsupported Media Type' }, { connection: 'close' })
      return
    }
    const url = new URL(req.url ?? '/', 'http://registry')
    let segments: string[]
    try {
      segments = url.pathname
        .split('/')
        .filter((s) => s !== '')
        .map(decodeURIComponent)
    } catch {
      send(res, 404, { error_code: 404, message: 'HTTP 404 Not Found' })
      return
    }
    const request: Request = { method, segments, query: url.searchParams, body: () => readJson(req) }
    api(request).then(
      (result) => {
        if (result === NO_ROUTE) send(res, 404, { error_code: 404, message: 'HTTP 404 Not Found' })
        else if (result === BAD_METHOD) send(res, 405, { error_code: 405, message: 'HTTP 405 Method Not Allowed' })
        else send(res, 200, result)
      },
      (err: unknown) => {
        if (err instanceof RegistryError) {
          if (err.status >= 500) onInternalError(err)
          send(res, err.status, { error_code: err.errorCode, message: err.message })
          return
        }
        onInternalError(err)
        send(res, 500, { error_code: RegistryErrorCodes.STORE_ERROR, message: `Internal error: ${(err as Error).message}` })
      }
    )
  }
}

const NO_ROUTE = Symbol('no route')
const BAD_METHOD = Symbol('bad method')

function routes(store: SchemaStore): (req: Request) => Promise<unknown> {
  const flag = (req: Request, name: string): boolean => req.query.get(name)?.toLowerCase() === 'true'

  // A lagging instance may not have read a registration made elsewhere yet: on "not found", catch
  // up with the log once and answer again.
  const fresh = async <T>(read: () => T): Promise<T> => {
    try {
      return read()
    } catch (err) {
      if (!isNotFound(err)) throw err
      await store.catchUp()
      return read()
    }
  }

  const schemaById = (raw: string): number => {
    const id = Number(raw)
    if (!/^\d+$/.test(raw) || !Number.isSafeInteger(id)) throw schemaNotFound()
    return id
  }
  const knownSchema = (id: number) => {
    const schema = store.state.schema(id)
    if (schema === undefined) throw schemaNotFound(id)
    return schema
  }

  const versionResponse = (subject: string, ref: VersionRef, deleted: boolean) => {
    const v = store.version(subject, ref, deleted)
    return { subject, id: v.id, version: v.version, schema: knownSchema(v.id).canonical }
  }

  const table: Record<string, Partial<Record<string, Handler>>> = {
    '': { GET: async () => ({}) },
    'schemas/types': { GET: async () => ['AVRO'] },
    'schemas/ids/:id': {
      GET: async (req) => fresh(() => ({ schema: knownSchema(schemaById(req.segments[2] ?? '')).canonical }))
    },
    'schemas/ids/:id/schema': {
      GET: async (req) => fresh(() => JSON.parse(knownSchema(schemaById(req.segments[2] ?? '')).canonical) as unknown)
    },
    'schemas/ids/:id/versions': {
      GET: async (req) =>
        fresh(() => {
          const id = schemaById(req.segments[2] ?? '')
          knownSchema(id)
          return store.state.versionsOfId(id, flag(req, 'deleted')).map((v) => ({ subject: v.subject, version: v.version }))
        })
    },
    'schemas/ids/:id/subjects': {
      GET: async (req) =>
        fresh(() => {
          const id = schemaById(req.segments[2] ?? '')
          knownSchema(id)
          return [...new Set(store.state.versionsOfId(id, flag(req, 'deleted')).map((v) => v.subject))]
        })
    },
    subjects: { GET: async (req) => store.state.subjects(flag(req, 'deleted')) },
    'subjects/:s': {
      // Lookup: is this schema registered under the subject, and as which version?
      POST: async (req) => {
        const subject = req.segments[1] ?? ''
        const body = await req.body()
        const text = schemaText(body)
        const canonical = store.canonical(text)
        const deleted = flag(req, 'deleted')
        return fresh(() => {
          const versions = store.state.versions(subject, deleted)
          if (versions.length === 0) throw subjectNotFound(subject)
          const id = store.state.idOf(canonical)
          const match = versions.filter((v) => v.id === id).at(-1)
          if (match === undefined || id === undefined) throw schemaNotFound()
          return { subject, id, version: match.version, schema: canonical }
        })
      },
      DELETE: async (req) => store.deleteSubject(req.segments[1] ?? '', flag(req, 'permanent'))
    },
    'subjects/:s/versions': {
      GET: async (req) =>
        fresh(() => {
          const subject = req.segments[1] ?? ''
          const versions = store.state.versions(subject, flag(req, 'deleted'))
          if (versions.length === 0) throw subjectNotFound(subject)
          return versions.map((v) => v.version)
        }),
      POST: async (req) => {
        const subject = validSubject(req.segments[1] ?? '')
        const body = await req.body()
        const { id } = await store.register(subject, schemaText(body))
        return { id }
      }
    },
    'subjects/:s/versions/:v': {
      GET: async (req) => {
        const ref = versionRef(req.segments[3] ?? '')
        return fresh(() => versionResponse(req.segments[1] ?? '', ref, flag(req, 'deleted')))
      },
      DELETE: async (req) => store.deleteVersion(req.segments[1] ?? '', versionRef(req.segments[3] ?? ''), flag(req, 'permanent'))
    },
    'subjects/:s/versions/:v/schema': {
      GET: async (req) => {
        const ref = versionRef(req.segments[3] ?? '')
        return fresh(() => JSON.parse(versionResponse(req.segments[1] ?? '', ref, flag(req, 'deleted')).schema) as unknown)
      }
    },
    config: {
      GET: async () => ({ compatibilityLevel: store.effectiveLevel(null) }),
      PUT: async (req) => {
        const level = levelOf(await req.body())
        await store.setLevel(null, level)
        return { compatibility: level }
      }
    },
    'config/:s': {
      GET: async (req) => {
        const subject = req.segments[1] ?? ''
        const own = store.state.subjectLevel(subject)
        if (own !== undefined) return { compatibilityLevel: own }
        if (flag(req, 'defaultToGlobal')) return { compatibilityLevel: store.effectiveLevel(null) }
        throw subjectConfigNotFound(subject)
      },
      PUT: async (req) => {
        const subject = validSubject(req.segments[1] ?? '')
        const level = levelOf(await req.body())
        await store.setLevel(subject, level)
        return { compatibility: level }
      },
      DELETE: async (req) => ({ compatibilityLevel: await store.deleteLevel(req.segments[1] ?? '') })
    },
    'compatibility/subjects/:s/versions': {
      POST: async (req) => compatibilityAnswer(req, store.checkCompatibility(req.segments[2] ?? '', undefined, schemaText(await req.body())))
    },
    'compatibility/subjects/:s/versions/:v': {
      POST: async (req) => {
        const ref = versionRef(req.segments[4] ?? '')
        const text = schemaText(await req.body())
        return compatibilityAnswer(req, await fresh(() => store.checkCompatibility(req.segments[2] ?? '', ref, text)))
      }
    }
  }

  const compatibilityAnswer = (req: Request, problems: string[]) =>
    flag(req, 'verbose') ? { is_compatible: problems.length === 0, messages: problems } : { is_compatible: problems.length === 0 }

  return async (req) => {
    const route = match(req.segments)
    const handlers = route === undefined ? undefined : table[route]
    if (handlers === undefined) return NO_ROUTE
    const handler = handlers[req.method]
    if (handler === undefined) return BAD_METHOD
    return handler(req)
  }
}

// The route pattern of a path: fixed words stay, variable segments become :id, :s, :v.
function match(segments: readonly string[]): string | undefined {
  const [a, b, c, d, e] = segments
  const n = segments.length
  if (n === 0) return ''
  if (a === 'schemas') {
    if (n === 2 && b === 'types') return 'schemas/types'
    if (b === 'ids' && n === 3) return 'schemas/ids/:id'
    if (b === 'ids' && n === 4 && (d === 'schema' || d === 'versions' || d === 'subjects')) return `schemas/ids/:id/${d}`
    return undefined
  }
  if (a === 'subjects') {
    if (n === 1) return 'subjects'
    if (n === 2) return 'subjects/:s'
    if (n === 3 && c === 'versions') return 'subjects/:s/versions'
    if (n === 4 && c === 'versions') return 'subjects/:s/versions/:v'
    if (n === 5 && c === 'versions' && e === 'schema') return 'subjects/:s/versions/:v/schema'
    return undefined
  }
  if (a === 'config') return n === 1 ? 'config' : n === 2 ? 'config/:s' : undefined
  if (a === 'compatibility' && b === 'subjects' && d === 'versions') {
    if (n === 4) return 'compatibility/subjects/:s/versions'
    if (n === 5) return 'compatibility/subjects/:s/versions/:v'
  }
  return undefined
}

function versionRef(raw: string): VersionRef {
  if (raw === 'latest' || raw === '-1') return 'latest'
  const n = Number(raw)
  if (!/^\d+$/.test(raw) || n < 1 || n > 2 ** 31 - 1) throw invalidVersion(raw)
  return n
}

function validSubject(subject: string): string {
  // eslint-disable-next-line no-control-regex
  if (subject.trim() === '' || /[\u0000-\u001f]/.test(subject)) throw invalidSubject(subject)
  return subject
}

function schemaText(body: Record<string, unknown>): string {
  const type = body.schemaType
  if (type !== undefined && type !== null && String(type).toUpperCase() !== 'AVRO') {
    throw invalidSchema(`schema type ${String(type)} is not supported by this registry (Avro only)`)
  }
  if (Array.isArray(body.references) && body.references.length > 0) throw invalidSchema('schema references are not supported by this registry')
  if (typeof body.schema !== 'string' || body.schema.trim() === '') throw invalidSchema('the request has no "schema" string')
  return body.schema
}

function levelOf(body: Record<string, unknown>): NonNullable<ReturnType<typeof parseCompatibilityLevel>> {
  const level = parseCompatibilityLevel(body.compatibility ?? body.compatibilityLevel)
  if (level === undefined) throw invalidCompatibilityLevel(body.compatibility ?? body.compatibilityLevel)
  return level
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req) {
    size += (chunk as Buffer).length
    if (size > MAX_BODY_BYTES) throw new RegistryError(413, 413, `request body larger than ${MAX_BODY_BYTES} bytes`)
    chunks.push(chunk as Buffer)
  }
  const text = Buffer.concat(chunks).toString('utf8')
  if (text.trim() === '') return {}
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch (err) {
    throw new RegistryError(400, 400, `request body is not valid JSON: ${(err as Error).message}`)
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new RegistryError(400, 400, 'request body must be a JSON object')
  return parsed as Record<string, unknown>
}

/**
 * Whether `header` names a type Confluent's registry consumes: the media type compared without case,
 * parameters allowed, but a charset other than UTF-8 refused (bodies are read as UTF-8).
 */
export function acceptedContentType(header: string | undefined): boolean {
  if (header === undefined) return false
  const [type = '', ...parameters] = header.split(';')
  if (!WRITE_MEDIA_TYPES.has(type.trim().toLowerCase())) return false
  return parameters.every((parameter) => {
    const eq = parameter.indexOf('=')
    if (eq < 0) return parameter.trim() === ''
    if (parameter.slice(0, eq).trim().toLowerCase() !== 'charset') return true
    const charset = parameter
      .slice(eq + 1)
      .trim()
      .replace(/^"(.*)"$/, '$1')
      .toLowerCase()
    return charset === 'utf-8' || charset === 'utf8'
  })
}

function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length']
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && Number(length) !== 0)
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string | string[]> = {}): void {
  const text = JSON.stringify(body)
  res.writeHead(status, { ...headers, 'content-type': CONTENT_TYPE, 'content-length': Buffer.byteLength(text) })
  res.end(text)
}
