/**
 * What went wrong with an API call, in terms the pages act on: 401 signs out, 403 explains the
 * missing scope, 400 shows the API's message next to the filters, the rest offers a retry.
 */
import { TRPCClientError } from '@trpc/client'

/** Kinds of failure the pages distinguish. */
export const ProblemKinds = {
  unauthorized: 'unauthorized',
  forbidden: 'forbidden',
  badRequest: 'bad-request',
  notAvailable: 'not-available',
  unavailable: 'unavailable',
  network: 'network',
  server: 'server'
} as const
export type ProblemKind = (typeof ProblemKinds)[keyof typeof ProblemKinds]

/** A failed call, classified. */
export interface ApiProblem {
  readonly kind: ProblemKind
  /** The API's message (already meant for people), or a description of the network failure. */
  readonly message: string
  /** HTTP status when the server answered. */
  readonly status: number | null
}

interface ErrorData {
  code?: unknown
  httpStatus?: unknown
}

const BY_CODE: Readonly<Record<string, ProblemKind>> = {
  UNAUTHORIZED: ProblemKinds.unauthorized,
  FORBIDDEN: ProblemKinds.forbidden,
  BAD_REQUEST: ProblemKinds.badRequest,
  PARSE_ERROR: ProblemKinds.badRequest,
  PRECONDITION_FAILED: ProblemKinds.notAvailable,
  NOT_FOUND: ProblemKinds.notAvailable,
  SERVICE_UNAVAILABLE: ProblemKinds.unavailable,
  TIMEOUT: ProblemKinds.unavailable,
  TOO_MANY_REQUESTS: ProblemKinds.unavailable
}

const BY_STATUS: Readonly<Record<number, ProblemKind>> = {
  400: ProblemKinds.badRequest,
  401: ProblemKinds.unauthorized,
  403: ProblemKinds.forbidden,
  404: ProblemKinds.notAvailable,
  412: ProblemKinds.notAvailable,
  429: ProblemKinds.unavailable,
  502: ProblemKinds.unavailable,
  503: ProblemKinds.unavailable,
  504: ProblemKinds.unavailable
}

/** Classifies any error thrown by a tRPC call (or anything else). */
export function describeProblem(error: unknown): ApiProblem {
  if (error instanceof TRPCClientError) {
    const data = (error.data ?? undefined) as ErrorData | undefined
    const status = typeof data?.httpStatus === 'number' ? data.httpStatus : null
    const code = typeof data?.code === 'string' ? data.code : undefined
    if (data === undefined) {
      // No error shape: the request never got a tRPC answer (offline, proxy or server down, a
      // gateway's HTML error page...).
      const response = (error.meta as { response?: { status?: unknown } } | undefined)?.response
      const httpStatus = typeof response?.status === 'number' ? response.status : null
      if (httpStatus !== null) {
        return {
          kind: ProblemKinds.network,
          message: `the query API did not answer (HTTP ${httpStatus} from the server or a proxy in front of it)`,
          status: httpStatus
        }
      }
      return { kind: ProblemKinds.network, message: networkMessage(error), status: null }
    }
    const kind = (code === undefined ? undefined : BY_CODE[code]) ?? (status === null ? undefined : BY_STATUS[status]) ?? ProblemKinds.server
    return { kind, message: error.message || 'the query API failed without a message', status }
  }
  if (error instanceof Error) return { kind: ProblemKinds.network, message: networkMessage(error), status: null }
  return { kind: ProblemKinds.server, message: String(error), status: null }
}

function networkMessage(error: Error): string {
  const cause = error.cause instanceof Error ? error.cause.message : ''
  const text = cause || error.message
  if (/fetch|network|load failed|ECONNREFUSED/i.test(text)) return 'cannot reach the query API (is it running?)'
  // A body that is not tRPC JSON: usually a proxy's error page while the API is down.
  if (/JSON|transform response/i.test(text)) return 'the query API did not answer (is it running? a proxy in front of it may have failed)'
  return text || 'the request failed'
}

/** A headline for each kind, for error panels. */
export function problemTitle(kind: ProblemKind): string {
  switch (kind) {
    case 'unauthorized':
      return 'Not signed in'
    case 'forbidden':
      return 'Not allowed'
    case 'bad-request':
      return 'The query was refused'
    case 'not-available':
      return 'Not available'
    case 'unavailable':
      return 'The query API is busy or cannot reach Kafka'
    case 'network':
      return 'Cannot reach the query API'
    case 'server':
      return 'Something went wrong'
  }
}
