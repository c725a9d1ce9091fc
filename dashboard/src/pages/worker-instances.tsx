/**
 * The traffic workers: each member of the consumer group with its tasks, joined with what the
 * worker last reported about itself (state, records/s, commits, dropped records, errors); reports
 * of instances that are not in the group (stopped, rebalancing) are listed below.
 */
import { For, Show, type JSX } from 'solid-js'
import type { InstancesReport, WorkerInstance, WorkerStatus, WorkerTask } from '../api/types.ts'
import { StatusDot } from '../components/ui.tsx'
import { formatAgo, formatCount, formatDuration, formatRate } from '../lib/format.ts'

/** What the page knows about an instance's load from the group's offsets. */
export interface InstanceLoad {
  readonly lag: number
  readonly processedPerS: number | null
  readonly partitions: number
}

function stateTone(status: WorkerStatus): 'ok' | 'warn' | 'bad' | 'idle' {
  if (status.stale) return 'idle'
  switch (status.state.toUpperCase()) {
    case 'RUNNING':
      return 'ok'
    case 'ERROR':
      return 'bad'
    case 'REBALANCING':
    case 'CREATED':
    case 'PENDING_SHUTDOWN':
      return 'warn'
    default:
      return 'idle'
  }
}

function stateLabel(status: WorkerStatus): string {
  const s = status.state.toLowerCase().replace(/_/g, ' ')
  return status.stale ? `${s} (no report for a while)` : s
}

function dropped(tasks: readonly WorkerTask[]): Array<[string, number]> {
  const sums = new Map<string, number>()
  for (const t of tasks) for (const [reason, n] of Object.entries(t.droppedRecords)) sums.set(reason, (sums.get(reason) ?? 0) + n)
  return [...sums].filter(([, n]) => n > 0).sort((a, b) => b[1] - a[1])
}

function taskTitle(t: WorkerTask | undefined, id: string): string {
  if (t === undefined) return `task ${id}`
  const parts = [`task ${id}: ${t.phase.toLowerCase()}`, `${formatCount(t.recordsProcessed)} records processed`]
  if (t.bufferedRecords > 0) parts.push(`${formatCount(t.bufferedRecords)} buffered`)
  if (t.restoreRemainingOffsets > 0) parts.push(`${formatCount(t.restoreRemainingOffsets)} offsets left to restore`)
  return parts.join(' · ')
}

function Instance(props: { instance: WorkerInstance; load: InstanceLoad | undefined; now: number }): JSX.Element {
  const status = (): WorkerStatus | null => props.instance.status ?? null
  const taskStatus = (id: string): WorkerTask | undefined => status()?.tasks.find((t) => t.id === id)
  return (
    <li class="instance" data-testid="instance">
      <div class="instance-head">
        <span class="instance-name mono" title={`member ${props.instance.memberId} · client ${props.instance.clientId}`}>
          {status()?.instanceId ?? props.instance.groupInstanceId ?? props.instance.clientId}
        </span>
        <Show when={status()} fallback={<span class="muted">no status report</span>}>
          {(s) => <StatusDot tone={stateTone(s())} label={stateLabel(s())} testId="instance-state" />}
        </Show>
      </div>
      <div class="instance-figures">
        <Show
          when={status()}
          fallback={
            <span>
              <strong>{formatRate(props.load?.processedPerS)}</strong> processed
            </span>
          }
        >
          {(s) => (
            <span title="as the worker reports it">
              <strong>{formatRate(s().recordsPerSecond)}</strong> processed
            </span>
          )}
        </Show>
        <Show when={status()}>
          {(s) => (
            <span>
              <strong>{formatCount(s().recordsProcessedTotal)}</strong> records in all
            </span>
          )}
        </Show>
        <span>
          <strong>{formatCount(props.load?.lag)}</strong> lag
        </span>
        <span>
          <strong>{props.load?.partitions ?? 0}</strong> partitions
        </span>
        <Show when={status()?.lastCommitAtMs}>{(at) => <span>committed {formatAgo(at(), props.now)}</span>}</Show>
        <Show when={status()?.startedAtMs}>{(at) => <span>up {formatDuration(props.now - at())}</span>}</Show>
      </div>
      <div class="chips">
        <For each={props.instance.tasks} fallback={<span class="muted">no tasks</span>}>
          {(task) => (
            <span
              class="chip mono"
              classList={{ 'chip-warn': taskStatus(task) !== undefined && taskStatus(task)?.phase.toLowerCase() !== 'running' }}
              title={taskTitle(taskStatus(task), task)}
              data-testid="task"
            >
              {task}
            </span>
          )}
        </For>
      </div>
      <Show when={dropped(status()?.tasks ?? []).length > 0}>
        <div class="instance-dropped" data-testid="instance-dropped">
          Dropped:{' '}
          <For each={dropped(status()?.tasks ?? [])}>
            {([reason, n], i) => (
              <>
                {i() > 0 ? ' · ' : ''}
                {formatCount(n)} {reason}
              </>
            )}
          </For>
        </div>
      </Show>
      <Show when={status()?.error}>{(e) => <div class="form-error">Error: {e()}</div>}</Show>
    </li>
  )
}

export function WorkerInstances(props: { report: InstancesReport; load: Map<string, InstanceLoad> | undefined; now: number }): JSX.Element {
  const others = (): WorkerStatus[] => props.report.unattachedReports ?? []
  return (
    <>
      <ul class="instances">
        <For each={props.report.instances}>{(inst) => <Instance instance={inst} load={props.load?.get(inst.memberId)} now={props.now} />}</For>
      </ul>
      <Show when={others().length > 0}>
        <div class="instances-other">
          <div class="field-label">Not in the group now</div>
          <ul class="plain-list">
            <For each={others()}>
              {(s) => (
                <li>
                  <span class="mono">{s.instanceId}</span> · {stateLabel(s)} · reported {formatAgo(s.updatedAtMs, props.now)}
                </li>
              )}
            </For>
          </ul>
        </div>
      </Show>
    </>
  )
}
