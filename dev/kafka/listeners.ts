/**
 * Who listens on a local TCP port: whether anything answers a connect, and on Linux which process
 * holds the listening socket (from /proc/net/tcp{,6} and the /proc/<pid>/fd links). The dev scripts
 * use it to tell their own broker from one they did not start.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs'
import { connect } from 'node:net'

/** A process listening on a port, as far as this machine tells. */
export interface PortListener {
  readonly port: number
  /** Undefined when it cannot be seen (not Linux, or another user's process). */
  readonly pid: number | undefined
  /** Its command line, shortened; undefined with the pid. */
  readonly command: string | undefined
}

/** Whether a TCP connect to `host:port` succeeds within `timeoutMs`. */
export function answers(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port })
    const done = (result: boolean) => {
      socket.destroy()
      resolve(result)
    }
    socket.setTimeout(timeoutMs, () => done(false))
    socket.once('connect', () => done(true))
    socket.once('error', () => done(false))
  })
}

/** The listener of `port` on 127.0.0.1, or undefined when nothing answers there. */
export async function listenerOn(port: number): Promise<PortListener | undefined> {
  if (!(await answers('127.0.0.1', port))) return undefined
  const pid = listeningPid(port)
  return { port, pid, command: pid === undefined ? undefined : commandOf(pid) }
}

/** Pid of the process holding a listening TCP socket on `port` (any address); Linux only. */
export function listeningPid(port: number): number | undefined {
  const inodes = new Set<string>()
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string
    try {
      text = readFileSync(table, 'utf8')
    } catch {
      continue
    }
    // Columns: sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode ...
    // local_address is HEXADDR:HEXPORT; state 0A is LISTEN.
    for (const line of text.split('\n').slice(1)) {
      const columns = line.trim().split(/\s+/)
      const local = columns[1]
      if (local === undefined || columns[3] !== '0A') continue
      if (Number.parseInt(local.slice(local.lastIndexOf(':') + 1), 16) === port && columns[9] !== undefined) inodes.add(columns[9])
    }
  }
  if (inodes.size === 0) return undefined
  let pids: string[]
  try {
    pids = readdirSync('/proc').filter((name) => /^\d+$/.test(name))
  } catch {
    return undefined
  }
  for (const pid of pids) {
    let fds: string[]
    try {
      fds = readdirSync(`/proc/${pid}/fd`)
    } catch {
      continue
    }
    for (const fd of fds) {
      let target: string
      try {
        target = readlinkSync(`/proc/${pid}/fd/${fd}`)
      } catch {
        continue
      }
      const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1]
      if (inode !== undefined && inodes.has(inode)) return Number(pid)
    }
  }
  return undefined
}

/**
 * The command line of `pid`, shortened to about `maxChars` characters by keeping the program and the
 * last whole arguments (where a java's main class and files are). Undefined when unreadable.
 */
export function commandOf(pid: number, maxChars = 120): string | undefined {
  let args: string[]
  try {
    args = readFileSync(`/proc/${pid}/cmdline`, 'utf8')
      .split('\0')
      .filter((a) => a !== '')
  } catch {
    return undefined
  }
  const command = args.join(' ')
  if (command.length <= maxChars) return command
  const [program = '', ...rest] = args
  const tail: string[] = []
  let length = program.length + 2
  for (const arg of rest.reverse()) {
    if (tail.length > 0 && length + arg.length + 1 > maxChars) break
    tail.unshift(arg)
    length += arg.length + 1
  }
  return `${program} … ${tail.join(' ')}`
}
