/**
 * A small `EventSource` for Node (which has none without a flag), so Node clients (tests, benches,
 * scripts) use tRPC's `httpSubscriptionLink`. Unlike the browser's, it can send headers (a bearer
 * token) and trust a CA (self-signed TLS). It follows the server-sent events format: `data`, `event`,
 * `id` and `retry` fields, reconnection with `Last-Event-ID`, and no reconnection after a non-200
 * answer or `close()`. A non-200 answer carrying a tRPC error body is delivered as a
 * `serialized-error` event first (see below).
 */
import { request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http'
import { request as httpsRequest } from 'node:https'

/** Options of `NodeEventSource`. */
export interface NodeEventSourceInit {
  withCredentials?: boolean
  /** Extra request headers, e.g. `{ authorization: 'Bearer <token>' }`. */
  headers?: Record<string, string>
  /** PEM CA certificate(s) to trust for https URLs. */
  ca?: string | Buffer
  /** Delay before reconnecting until the server sends `retry`, ms. Default 1,000. */
  reconnectMs?: number
}

const CONNECTING = 0
const OPEN = 1
const CLOSED = 2

/** A server-sent events client over node:http(s). */
export class NodeEventSource extends EventTarget {
  static readonly CONNECTING = CONNECTING
  static readonly OPEN = OPEN
  static readonly CLOSED = CLOSED
  readonly CONNECTING = CONNECTING
  readonly OPEN = OPEN
  readonly CLOSED = CLOSED
  readonly url: string
  readonly withCredentials: boolean
  readyState: number = CONNECTING
  onopen: ((event: Event) => void) | null = null
  onmessage: ((event: MessageEvent) => void) | null = null
  onerror: ((event: Event) => void) | null = null
  private readonly init: NodeEventSourceInit
  private request: ClientRequest | undefined
  private timer: NodeJS.Timeout | undefined
  private retryMs: number
  private lastEventId_ = ''

  constructor(url: string | URL, init: NodeEventSourceInit = {}) {
    super()
    this.url = String(url)
    const parsed = new URL(this.url)
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new SyntaxError(`NodeEventSource: ${this.url} is not an http(s) URL`)
    this.withCredentials = init.withCredentials ?? false
    this.init = init
    this.retryMs = init.reconnectMs ?? 1000
    // Connect after the constructor returns, so listeners added right away see 'open'.
    queueMicrotask(() => this.connect())
  }

  close(): void {
    this.readyState = CLOSED
    clearTimeout(this.timer)
    this.request?.destroy()
    this.request = undefined
  }

  private emit(event: Event): void {
    if (event.type === 'open') this.onopen?.(event)
    else if (event.type === 'error') this.onerror?.(event)
    else if (event.type === 'message') this.onmessage?.(event as MessageEvent)
    this.dispatchEvent(event)
  }

  private connect(): void {
    this.timer = undefined
    if (this.readyState === CLOSED) return
    const url = new URL(this.url)
    const headers: Record<string, string> = { accept: 'text/event-stream', 'cache-control': 'no-cache', ...this.init.headers }
    if (this.lastEventId_ !== '') headers['last-event-id'] = this.lastEventId_
    const options = { method: 'GET', headers, ...(this.init.ca === undefined ? {} : { ca: this.init.ca }) }
    const req = url.protocol === 'https:' ? httpsRequest(url, options) : httpRequest(url, options)
    this.request = req
    req.on('response', (res) => this.onResponse(res))
    req.on('error', () => this.reconnect())
    req.end()
  }

  private onResponse(res: IncomingMessage): void {
    if (this.readyState === CLOSED) {
      res.destroy()
      return
    }
    const type = String(res.headers['content-type'] ?? '')
    if (res.statusCode !== 200 || !type.startsWith('text/event-stream')) {
      // Per the specification, a wrong answer fails the connection for good. A tRPC error body (the
      // query API refuses bad subscriptions with 400/401/403 and one) is first handed over as the
      // stream's `serialized-error` event, so tRPC clients see its code and message.
      const chunks: Buffer[] = []
      let size = 0
      res.on('data', (c: Buffer) => {
        size += c.length
        if (size <= 65_536) chunks.push(c)
      })
      res.on('end', () => {
        let error: unknown
        try {
          error = (JSON.parse(Buffer.concat(chunks).toString('utf8')) as { error?: unknown }).error
        } catch {
          error = undefined
        }
        if (typeof error === 'object' && error !== null && this.readyState !== CLOSED) {
          this.emit(new MessageEvent('serialized-error', { data: JSON.stringify(error), origin: new URL(this.url).origin }))
        }
        this.readyState = CLOSED
        this.emit(new Event('error'))
      })
      res.on('error', () => {
        this.readyState = CLOSED
        this.emit(new Event('error'))
      })
      return
    }
    this.readyState = OPEN
    this.emit(new Event('open'))
    res.setEncoding('utf8')
    let buffer = ''
    let data: string[] = []
    let eventType = ''
    const dispatch = (): void => {
      if (data.length === 0) {
        eventType = ''
        return
      }
      const event = new MessageEvent(eventType === '' ? 'message' : eventType, {
        data: data.join('\n'),
        lastEventId: this.lastEventId_,
        origin: new URL(this.url).origin
      })
      data = []
      eventType = ''
      if (this.readyState !== CLOSED) this.emit(event)
    }
    res.on('data', (chunk: string) => {
      buffer += chunk
      for (;;) {
        const match = /\r\n|\n|\r/.exec(buffer)
        // A lone \r at the end may be the first half of \r\n: wait for more.
        if (match === null || (match[0] === '\r' && match.index === buffer.length - 1)) break
        const line = buffer.slice(0, match.index)
        buffer = buffer.slice(match.index + match[0].length)
        if (line === '') {
          dispatch()
          continue
        }
        if (line.startsWith(':')) continue
        const colon = line.indexOf(':')
        const field = colon < 0 ? line : line.slice(0, colon)
        let value = colon < 0 ? '' : line.slice(colon + 1)
        if (value.startsWith(' ')) value = value.slice(1)
        switch (field) {
          case 'data':
            data.push(value)
            break
          case 'event':
            eventType = value
            break
          case 'id':
            if (!value.includes('\u0000')) this.lastEventId_ = value
            break
          case 'retry':
            if (/^\d+$/.test(value)) this.retryMs = Number(value)
            break
          default:
            break
        }
      }
    })
    res.on('end', () => this.reconnect())
    res.on('error', () => this.reconnect())
  }

  private reconnect(): void {
    // The response's end and the request's error may both report one lost connection.
    if (this.readyState === CLOSED || this.timer !== undefined) return
    this.request?.destroy()
    this.request = undefined
    this.readyState = CONNECTING
    this.emit(new Event('error'))
    clearTimeout(this.timer)
    this.timer = setTimeout(() => this.connect(), this.retryMs)
  }
}
