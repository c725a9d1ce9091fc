/**
 * The process supervisor of `npm start`: it runs each service as a child `node` process and keeps it
 * running, and stops them all, in the reverse order of their start, when asked.
 *
 * - A child runs in its own process group (a Ctrl-C on the terminal reaches the supervisor only,
 *   which then stops the children in order) with `parent-watch.ts` preloaded and a stdin pipe from
 *   the supervisor: when the supervisor dies, even by SIGKILL, the child stops itself.
 * - A child that exits while the supervisor is not stopping is restarted after a backoff that starts
 *   at `initialBackoffMs` and doubles up to `maxBackoffMs`; it starts over once a run has lasted
 *   `stableAfterMs`. Each exit and restart is logged with the child's pid.
 * - Stopping a child: SIGTERM to its process group, SIGKILL after `stopTimeoutMs`.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { pathToFileURL } from 'node:url'
import { join } from 'node:path'

/** A long-running child process. */
export interface ServiceSpec {
  readonly name: string
  /** Arguments to `node` (a script and its arguments), relative to the supervisor's `cwd`. */
  readonly args: readonly string[]
  /** Variables on top of the supervisor's environment. */
  readonly env?: Readonly<Record<string, string>>
}

/** Options of a `Supervisor`; times in ms. */
export interface SupervisorOptions {
  readonly cwd: string
  readonly env: NodeJS.ProcessEnv
  /** Where the supervisor's own lines go (a child's output is forwarded with a `[name] ` prefix). */
  readonly log: (line: string) => void
  readonly initialBackoffMs?: number
  readonly maxBackoffMs?: number
  readonly stableAfterMs?: number
  readonly stopTimeoutMs?: number
}

/** What the supervisor knows of one service. */
export interface ServiceState {
  readonly name: string
  /** Pid of the current run; undefined while waiting for a restart. */
  readonly pid: number | undefined
  /** Pids of every run so far. */
  readonly pids: readonly number[]
  readonly restarts: number
}

const PARENT_WATCH = pathToFileURL(join(import.meta.dirname, 'parent-watch.ts')).href

interface Service {
  spec: ServiceSpec
  child: ChildProcess | undefined
  pids: number[]
  restarts: number
  backoffMs: number
  timer: NodeJS.Timeout | undefined
}

/** Runs services as child processes, restarts them when they exit, stops them in reverse order. */
export class Supervisor {
  private readonly options: Required<SupervisorOptions>
  private readonly services: Service[] = []
  private stopping = false

  constructor(options: SupervisorOptions) {
    this.options = { initialBackoffMs: 1_000, maxBackoffMs: 30_000, stableAfterMs: 60_000, stopTimeoutMs: 15_000, ...options }
  }

  /** Starts a service (and keeps it running until `stopAll`). */
  start(spec: ServiceSpec): ServiceState {
    const service: Service = { spec, child: undefined, pids: [], restarts: 0, backoffMs: this.options.initialBackoffMs, timer: undefined }
    this.services.push(service)
    this.run(service)
    return this.state(spec.name) as ServiceState
  }

  /** The state of the service named `name`. */
  state(name: string): ServiceState | undefined {
    const s = this.services.find((x) => x.spec.name === name)
    return s === undefined ? undefined : { name, pid: s.child?.pid, pids: [...s.pids], restarts: s.restarts }
  }

  /** Stops every service, the last started first; resolves when all have exited. */
  async stopAll(onStopped: (name: string) => void = () => undefined): Promise<void> {
    this.stopping = true
    for (const service of [...this.services].reverse()) {
      clearTimeout(service.timer)
      await this.stop(service)
      onStopped(service.spec.name)
    }
  }

  private run(service: Service): void {
    const { spec } = service
    const child = spawn(process.execPath, ['--import', PARENT_WATCH, ...spec.args], {
      cwd: this.options.cwd,
      env: { ...this.options.env, ...spec.env },
      stdio: ['pipe', 'pipe', 'pipe'],
      detached: true
    })
    service.child = child
    const startedAt = Date.now()
    if (child.pid !== undefined) service.pids.push(child.pid)
    this.options.log(`${spec.name} started (pid ${String(child.pid)})`)
    // Writes to a child that is gone must not bring the supervisor down.
    child.stdin?.on('error', () => undefined)
    forwardLines(child.stdout, process.stdout, `[${spec.name}] `)
    forwardLines(child.stderr, process.stderr, `[${spec.name}] `)
    child.on('error', (err) => this.options.log(`${spec.name} could not run: ${err.message}`))
    child.on('exit', (code, signal) => {
      if (service.child === child) service.child = undefined
      if (this.stopping) return
      const upMs = Date.now() - startedAt
      if (upMs >= this.options.stableAfterMs) service.backoffMs = this.options.initialBackoffMs
      const delayMs = service.backoffMs
      service.backoffMs = Math.min(this.options.maxBackoffMs, service.backoffMs * 2)
      service.restarts++
      this.options.log(
        `${spec.name} (pid ${String(child.pid)}) exited with ${signal ?? `code ${String(code)}`} after ${(upMs / 1000).toFixed(1)} s; ` +
          `restart ${service.restarts} in ${(delayMs / 1000).toFixed(0)} s`
      )
      service.timer = setTimeout(() => {
        service.timer = undefined
        if (!this.stopping) this.run(service)
      }, delayMs)
    })
  }

  private async stop(service: Service): Promise<void> {
    const child = service.child
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return
    const exited = once(child, 'exit')
    signalGroup(child, 'SIGTERM')
    const timer = setTimeout(() => {
      this.options.log(`${service.spec.name} (pid ${String(child.pid)}) did not stop within ${this.options.stopTimeoutMs / 1000} s: SIGKILL`)
      signalGroup(child, 'SIGKILL')
    }, this.options.stopTimeoutMs)
    await exited
    clearTimeout(timer)
  }
}

/** Sends `signal` to the child's process group (it leads one: `detached`), or to the child alone. */
function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return
  try {
    process.kill(-child.pid, signal)
  } catch {
    child.kill(signal)
  }
}

/** Copies a child's output line by line with a prefix (a partial last line waits for its end). */
function forwardLines(from: NodeJS.ReadableStream | null, to: NodeJS.WritableStream, prefix: string): void {
  if (from === null) return
  let pending = ''
  from.on('data', (chunk: Buffer) => {
    const lines = (pending + chunk.toString()).split('\n')
    pending = lines.pop() ?? ''
    for (const line of lines) if (line !== '') to.write(prefix + line + '\n')
  })
  from.on('end', () => {
    if (pending !== '') to.write(prefix + pending + '\n')
  })
}
