/**
 * A tRPC subscription kept open while the page wants live updates (call inside a component or an
 * effect owner). It follows `input`: another input closes the subscription and opens one for it. A
 * failed subscription is opened again after a growing pause (2 s doubling to 30 s), unless the API
 * refused it (401, 403, 400), which another attempt would not change. Every `subscribed` event (the
 * first, and again after a reconnect) calls `onSubscribed`, where the page re-reads what it shows;
 * the other events go to `onEvent`.
 */
import { createEffect, createSignal, onCleanup, untrack, type Accessor } from 'solid-js'
import { handleUnauthorized, problemOf } from './client.ts'
import { describeProblem, type ApiProblem } from './errors.ts'

/** State of the live subscription. */
export type LiveStatus = 'off' | 'connecting' | 'live' | 'reconnecting' | 'failed'

/** The handlers tRPC's `subscribe` takes (the part used here). */
export interface SubscriptionHandlers<TEvent> {
  onData(event: TEvent): void
  onError(err: unknown): void
  onConnectionStateChange(state: { state: string }): void
}

export interface LiveSubscriptionOptions<TInput, TEvent extends { readonly kind: string }> {
  /** Whether to subscribe at all. */
  readonly live: Accessor<boolean>
  /** The subscription's input; a change resubscribes. */
  readonly input: Accessor<TInput>
  /** Opens the subscription (`api().x.live.subscribe(input, handlers)`). */
  readonly open: (input: TInput, handlers: SubscriptionHandlers<TEvent>) => { unsubscribe(): void }
  readonly onSubscribed: () => void
  readonly onEvent: (event: Exclude<TEvent, { readonly kind: 'subscribed' }>, input: TInput) => void
  /** Runs when the subscription closes (another input, live off, the page gone). */
  readonly onClose?: () => void
}

export interface LiveSubscription {
  readonly liveStatus: Accessor<LiveStatus>
  readonly liveProblem: Accessor<ApiProblem | undefined>
}

export function createLiveSubscription<TInput, TEvent extends { readonly kind: string }>(options: LiveSubscriptionOptions<TInput, TEvent>): LiveSubscription {
  const [liveStatus, setLiveStatus] = createSignal<LiveStatus>('off')
  const [liveProblem, setLiveProblem] = createSignal<ApiProblem | undefined>(undefined)
  const [attempt, setAttempt] = createSignal(0)
  let failures = 0
  createEffect(() => {
    const input = options.input()
    attempt()
    if (!options.live()) {
      setLiveStatus('off')
      return
    }
    let active = true
    let retry: ReturnType<typeof setTimeout> | undefined
    if (untrack(liveStatus) !== 'reconnecting') setLiveStatus('connecting')
    setLiveProblem(undefined)
    let subscription: { unsubscribe(): void } | undefined
    try {
      subscription = options.open(input, {
        onData: (event) => {
          if (!active) return
          if (event.kind === 'subscribed') {
            failures = 0
            setLiveStatus('live')
            setLiveProblem(undefined)
            options.onSubscribed()
          } else {
            options.onEvent(event as Exclude<TEvent, { readonly kind: 'subscribed' }>, input)
          }
        },
        onError: (err) => {
          if (!active) return
          const described = describeProblem(err)
          const p = described.message === 'Unknown error' ? { ...described, message: 'the live connection to the query API failed' } : described
          if (p.kind === 'unauthorized') handleUnauthorized(p)
          setLiveProblem(p)
          if (p.kind === 'unauthorized' || p.kind === 'forbidden' || p.kind === 'bad-request') {
            setLiveStatus('failed')
            return
          }
          setLiveStatus('reconnecting')
          failures++
          retry = setTimeout(() => setAttempt((n) => n + 1), Math.min(30_000, 2_000 * 2 ** Math.min(4, failures - 1)))
        },
        onConnectionStateChange: (s) => {
          if (!active) return
          if (s.state === 'connecting' && untrack(liveStatus) === 'live') setLiveStatus('reconnecting')
        }
      })
    } catch (err) {
      setLiveProblem(problemOf(err))
      setLiveStatus('failed')
    }
    onCleanup(() => {
      active = false
      if (retry !== undefined) clearTimeout(retry)
      subscription?.unsubscribe()
      options.onClose?.()
    })
  })
  return { liveStatus, liveProblem }
}
