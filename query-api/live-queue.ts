/**
 * The pending changes of one live subscriber. Changes with the same key (the same window, the same
 * product...) coalesce: the subscriber gets the latest one once, so the queue is bounded by the keys
 * that changed, not by the update rate; past `maxPending` keys it drops everything and asks the
 * subscriber to resync (re-read), which keeps a slow subscriber from holding memory.
 */
import type { WindowChange } from './materializer.ts'

/** What the queue yields: a change, or a request to re-read everything. */
export type LiveItem<TChange = WindowChange> = { readonly kind: 'change'; readonly change: TChange } | { readonly kind: 'resync' }

/** The key of a traffic window change: resolution, sensor, traveler type and window start. */
export function windowChangeKey(change: WindowChange): string {
  return `${change.resolution}|${change.sensorId}|${change.travelerType}|${change.windowStart}`
}

export class LiveQueue<TChange = WindowChange> {
  private readonly maxPending: number
  private readonly keyOf: (change: TChange) => string
  private readonly pending = new Map<string, TChange>()
  private overflowed = false
  private wake: (() => void) | undefined

  /** `keyOf` names what a change is about: changes with equal keys coalesce. */
  constructor(maxPending: number, keyOf: (change: TChange) => string) {
    if (!Number.isSafeInteger(maxPending) || maxPending < 1) throw new TypeError(`LiveQueue: maxPending must be a positive integer, got ${maxPending}`)
    this.maxPending = maxPending
    this.keyOf = keyOf
  }

  get size(): number {
    return this.pending.size
  }

  push(change: TChange): void {
    const key = this.keyOf(change)
    // delete + set moves the key to the back: it is delivered after the windows that changed before its latest change.
    this.pending.delete(key)
    this.pending.set(key, change)
    if (this.pending.size > this.maxPending) {
      this.pending.clear()
      this.overflowed = true
    }
    this.wake?.()
  }

  /** The next item; waits for one. Resolves undefined when `signal` aborts. */
  async next(signal: AbortSignal): Promise<LiveItem<TChange> | undefined> {
    for (;;) {
      if (signal.aborted) return undefined
      if (this.overflowed) {
        this.overflowed = false
        return { kind: 'resync' }
      }
      const first = this.pending.entries().next()
      if (first.done !== true) {
        const [key, change] = first.value
        this.pending.delete(key)
        return { kind: 'change', change }
      }
      await new Promise<void>((resolve) => {
        const done = (): void => {
          this.wake = undefined
          signal.removeEventListener('abort', done)
          resolve()
        }
        this.wake = done
        signal.addEventListener('abort', done, { once: true })
      })
    }
  }
}

/**
 * The events of one live subscription: `subscribed` first, then each queued change rendered when it
 * is sent (so it carries the state after every change applied by then), or `{ kind: 'resync' }`
 * after an overflow, until `stop` aborts. `dispose` runs however the stream ends.
 */
export async function* liveEventStream<TChange, TEvent>(
  queue: LiveQueue<TChange>,
  stop: AbortSignal,
  subscribed: () => TEvent,
  render: (change: TChange) => TEvent,
  dispose: () => void
): AsyncGenerator<TEvent | { readonly kind: 'resync' }, void, unknown> {
  try {
    yield subscribed()
    for (;;) {
      const item = await queue.next(stop)
      if (item === undefined) return
      yield item.kind === 'resync' ? { kind: 'resync' } : render(item.change)
    }
  } finally {
    dispose()
  }
}
