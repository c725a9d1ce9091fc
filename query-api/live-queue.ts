/**
 * The pending window changes of one live subscriber. Changes of the same window coalesce (the
 * subscriber gets the latest state once), so the queue is bounded by the windows that changed, not by
 * the update rate; past `maxPending` windows it drops everything and asks the subscriber to resync
 * (re-read the series), which keeps a slow subscriber from holding memory.
 */
import type { WindowChange } from './materializer.ts'

/** What the queue yields: a change, or a request to re-read everything. */
export type LiveItem = { readonly kind: 'change'; readonly change: WindowChange } | { readonly kind: 'resync' }

export class LiveQueue {
  readonly #maxPending: number
  readonly #pending = new Map<string, WindowChange>()
  #overflowed = false
  #wake: (() => void) | undefined

  constructor(maxPending: number) {
    if (!Number.isSafeInteger(maxPending) || maxPending < 1) throw new TypeError(`LiveQueue: maxPending must be a positive integer, got ${maxPending}`)
    this.#maxPending = maxPending
  }

  get size(): number {
    return this.#pending.size
  }

  push(change: WindowChange): void {
    const key = `${change.resolution}|${change.sensorId}|${change.travelerType}|${change.windowStart}`
    // delete + set moves the window to the back: it is delivered after the windows that changed before its latest change.
    this.#pending.delete(key)
    this.#pending.set(key, change)
    if (this.#pending.size > this.#maxPending) {
      this.#pending.clear()
      this.#overflowed = true
    }
    this.#wake?.()
  }

  /** The next item; waits for one. Resolves undefined when `signal` aborts. */
  async next(signal: AbortSignal): Promise<LiveItem | undefined> {
    for (;;) {
      if (signal.aborted) return undefined
      if (this.#overflowed) {
        this.#overflowed = false
        return { kind: 'resync' }
      }
      const first = this.#pending.entries().next()
      if (first.done !== true) {
        const [key, change] = first.value
        this.#pending.delete(key)
        return { kind: 'change', change }
      }
      await new Promise<void>((resolve) => {
        const done = (): void => {
          this.#wake = undefined
          signal.removeEventListener('abort', done)
          resolve()
        }
        this.#wake = done
        signal.addEventListener('abort', done, { once: true })
      })
    }
  }
}
