/**
 * Test helper: a `fetch` that answers the few registry endpoints the serdes use, from memory, and
 * records every request. Unit tests use it to count I/O; integration tests use the real registry.
 */
export interface FakeRegistry {
  readonly fetch: typeof fetch
  /** `METHOD path` of every request, in order. */
  readonly requests: string[]
  /** Registers `schema` text directly (as another producer would) and returns its id. */
  add(subject: string, schema: string): number
  /** When true, every request fails as if the registry were unreachable. */
  down: boolean
}

export function fakeRegistry(): FakeRegistry {
  const ids = new Map<string, number>()
  const texts = new Map<number, string>()
  const subjects = new Map<string, Set<number>>()
  const requests: string[] = []

  function add(subject: string, schema: string): number {
    let id = ids.get(schema)
    if (id === undefined) {
      id = ids.size + 1
      ids.set(schema, id)
      texts.set(id, schema)
    }
    const set = subjects.get(subject) ?? new Set<number>()
    set.add(id)
    subjects.set(subject, set)
    return id
  }

  const json = (status: number, body: unknown): Response =>
    new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/vnd.schemaregistry.v1+json' } })

  const registry: FakeRegistry = {
    requests,
    add,
    down: false,
    fetch: async (input, init) => {
      const url = new URL(String(input))
      const method = init?.method ?? 'GET'
      requests.push(`${method} ${url.pathname}`)
      if (registry.down) throw new TypeError('fetch failed: connect ECONNREFUSED')
      const body = typeof init?.body === 'string' ? (JSON.parse(init.body) as { schema: string }) : undefined
      let m: RegExpMatchArray | null
      if (method === 'POST' && (m = url.pathname.match(/^\/subjects\/([^/]+)\/versions$/)) !== null && body !== undefined) {
        return json(200, { id: add(decodeURIComponent(m[1] ?? ''), body.schema) })
      }
      if (method === 'POST' && (m = url.pathname.match(/^\/subjects\/([^/]+)$/)) !== null && body !== undefined) {
        const subject = decodeURIComponent(m[1] ?? '')
        const id = ids.get(body.schema)
        if (id === undefined || subjects.get(subject)?.has(id) !== true) return json(404, { error_code: 40403, message: 'Schema not found' })
        return json(200, { subject, id, version: 1, schema: body.schema })
      }
      if (method === 'GET' && (m = url.pathname.match(/^\/schemas\/ids\/(\d+)$/)) !== null) {
        const text = texts.get(Number(m[1]))
        return text === undefined ? json(404, { error_code: 40403, message: `Schema ${m[1]} not found` }) : json(200, { schema: text })
      }
      return json(404, { error_code: 404, message: 'HTTP 404 Not Found' })
    }
  }
  return registry
}
