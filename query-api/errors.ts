/**
 * Errors of the query API. Every domain failure is a `QueryApiError` with a stable `code`; the API
 * edge (trpc.ts, `toTRPCError`) is the one place that turns codes into tRPC/HTTP codes.
 */
import { RunnelError } from '../errors/index.ts'

/** Stable codes of the query API's errors. */
export const QueryApiErrorCodes = {
  /** An option of the configuration is missing or malformed (start-up only). */
  BAD_CONFIG: 'QUERY_BAD_CONFIG',
  /** A query's input is valid JSON of the right shape but asks for something impossible (from > to...). */
  BAD_QUERY: 'QUERY_BAD_QUERY',
  /** The range of a query is longer than the configured maximum. */
  RANGE_TOO_LONG: 'QUERY_RANGE_TOO_LONG',
  /** A series call would return more points than the configured maximum (`limits.maxSeriesPoints`). */
  TOO_MANY_POINTS: 'QUERY_TOO_MANY_POINTS',
  /** A tRPC batch with more calls than the configured maximum (`limits.maxBatchCalls`). */
  TOO_MANY_CALLS: 'QUERY_TOO_MANY_CALLS',
  /** A response body larger than the configured maximum (`limits.maxResponseBytes`): 413. */
  RESPONSE_TOO_LARGE: 'QUERY_RESPONSE_TOO_LARGE',
  /** A token past its rate or concurrency limit, or a client address past its failed authentications: 429. */
  RATE_LIMITED: 'QUERY_RATE_LIMITED',
  /** The instance's own capacity is used up (live subscriptions in total): 503. */
  OVERLOADED: 'QUERY_OVERLOADED',
  /** A sensor that no materialized record has named. */
  UNKNOWN_SENSOR: 'QUERY_UNKNOWN_SENSOR',
  /** A product never seen on any commerce topic this instance follows. */
  UNKNOWN_PRODUCT: 'QUERY_UNKNOWN_PRODUCT',
  /** A REST path or parameter that is not well-formed (a product id that is not a decimal integer...). */
  BAD_REQUEST: 'QUERY_BAD_REQUEST',
  /** A REST path this API does not serve. */
  NO_SUCH_ENDPOINT: 'QUERY_NO_SUCH_ENDPOINT',
  /** The instance is still catching up with the topics (REST endpoints answer only once ready). */
  NOT_READY: 'QUERY_NOT_READY',
  /** A pagination cursor that this API did not issue for this query. */
  BAD_CURSOR: 'QUERY_BAD_CURSOR',
  /** No token, or a token the API does not know. */
  UNAUTHENTICATED: 'QUERY_UNAUTHENTICATED',
  /** A known token without the scope the procedure needs. */
  FORBIDDEN: 'QUERY_FORBIDDEN',
  /** Kafka (admin calls of system.*) did not answer. */
  KAFKA_UNAVAILABLE: 'QUERY_KAFKA_UNAVAILABLE',
  /** The procedure's data source is not configured (e.g. no topology provider). */
  NOT_AVAILABLE: 'QUERY_NOT_AVAILABLE'
} as const
export type QueryApiErrorCode = (typeof QueryApiErrorCodes)[keyof typeof QueryApiErrorCodes]

/** Base error of the query API: a stable `code`, a message for people, and the `cause` kept. */
export class QueryApiError extends RunnelError<QueryApiErrorCode> {}

/** A configuration option is wrong; `option` names it (and the environment variable when it came from one). */
export class QueryApiConfigError extends QueryApiError {
  readonly option: string
  constructor(option: string, message: string, options?: { cause?: unknown }) {
    super(QueryApiErrorCodes.BAD_CONFIG, `query-api: option ${option}: ${message}`, options)
    this.option = option
  }
}
