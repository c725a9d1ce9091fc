/** Small building blocks shared by the pages: cards, segmented controls, stats and status panels. */
import { For, Show, type JSX } from 'solid-js'
import { problemTitle, type ApiProblem } from '../api/errors.ts'

/** A titled panel. */
export function Card(props: {
  title?: string
  subtitle?: JSX.Element
  actions?: JSX.Element
  class?: string
  children: JSX.Element
  testId?: string
}): JSX.Element {
  return (
    <section class={`card ${props.class ?? ''}`} data-testid={props.testId}>
      <Show when={props.title !== undefined || props.actions !== undefined}>
        <header class="card-head">
          <div>
            <Show when={props.title !== undefined}>
              <h2 class="card-title">{props.title}</h2>
            </Show>
            <Show when={props.subtitle !== undefined}>
              <p class="card-subtitle">{props.subtitle}</p>
            </Show>
          </div>
          <Show when={props.actions !== undefined}>
            <div class="card-actions">{props.actions}</div>
          </Show>
        </header>
      </Show>
      {props.children}
    </section>
  )
}

/** One option of a segmented control. */
export interface SegmentOption<T extends string> {
  readonly value: T
  readonly label: string
}

/** A row of mutually exclusive buttons (radio semantics). */
export function Segmented<T extends string>(props: {
  label: string
  options: readonly SegmentOption<T>[]
  value: T
  onChange: (value: T) => void
  name: string
}): JSX.Element {
  return (
    <div class="segmented" role="radiogroup" aria-label={props.label} data-testid={`segmented-${props.name}`}>
      <For each={props.options}>
        {(o) => (
          <button
            type="button"
            role="radio"
            aria-checked={props.value === o.value}
            classList={{ active: props.value === o.value }}
            data-value={o.value}
            onClick={() => props.onChange(o.value)}
          >
            {o.label}
          </button>
        )}
      </For>
    </div>
  )
}

/** A headline figure. */
export function Stat(props: { label: string; value: JSX.Element; hint?: JSX.Element; testId?: string }): JSX.Element {
  return (
    <div class="stat" data-testid={props.testId}>
      <div class="stat-label">{props.label}</div>
      <div class="stat-value">{props.value}</div>
      <Show when={props.hint !== undefined}>
        <div class="stat-hint">{props.hint}</div>
      </Show>
    </div>
  )
}

/** A neutral "loading" placeholder of about the height of what it stands for. */
export function Loading(props: { label?: string; height?: number }): JSX.Element {
  return (
    <div class="state state-loading" style={{ 'min-height': `${props.height ?? 120}px` }} role="status" aria-live="polite">
      <span class="spinner" aria-hidden="true" />
      <span>{props.label ?? 'Loading…'}</span>
    </div>
  )
}

/** Nothing to show, and why. */
export function Empty(props: { title: string; detail?: JSX.Element; height?: number; testId?: string }): JSX.Element {
  return (
    <div class="state state-empty" style={{ 'min-height': `${props.height ?? 120}px` }} data-testid={props.testId}>
      <div class="state-title">{props.title}</div>
      <Show when={props.detail !== undefined}>
        <div class="state-detail">{props.detail}</div>
      </Show>
    </div>
  )
}

/** A failed call with its message and an optional retry. */
export function Problem(props: { problem: ApiProblem; onRetry?: () => void; height?: number; hint?: JSX.Element }): JSX.Element {
  return (
    <div class="state state-error" role="alert" style={{ 'min-height': `${props.height ?? 120}px` }} data-testid="problem">
      <div class="state-title">{problemTitle(props.problem.kind)}</div>
      <div class="state-detail">{props.problem.message}</div>
      <Show when={props.hint !== undefined}>
        <div class="state-detail">{props.hint}</div>
      </Show>
      <Show when={props.onRetry !== undefined}>
        <button type="button" class="button button-secondary" onClick={() => props.onRetry?.()}>
          Try again
        </button>
      </Show>
    </div>
  )
}

/** A small colored dot with a label (connection and group states). */
export function StatusDot(props: { tone: 'ok' | 'warn' | 'bad' | 'idle'; label: string; pulse?: boolean; testId?: string }): JSX.Element {
  return (
    <span class={`status status-${props.tone}`} classList={{ pulse: props.pulse === true }} data-testid={props.testId}>
      <span class="status-dot" aria-hidden="true" />
      {props.label}
    </span>
  )
}
