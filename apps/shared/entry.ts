/**
 * The entry points `npm run worker -- <app> [args]` and `npm run simulate -- <app> [args]`: each app
 * is a folder of apps/ with a `worker.ts` or `simulator.ts` whose `main(args)` runs it.
 */
import { existsSync, readdirSync } from 'node:fs'
import { join } from 'node:path'

const APPS_DIR = join(import.meta.dirname, '..')

/** The apps that have `file` (e.g. `worker.ts`). */
export function appsWith(file: string): string[] {
  return readdirSync(APPS_DIR, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(APPS_DIR, d.name, file)))
    .map((d) => d.name)
}

/**
 * Runs `apps/<argv[0]>/<file>`'s `main` with the rest of `argv`. An unknown app exits 2 listing the
 * known ones; a failure exits 1 with its message (naming what is wrong: a bad variable or flag, an
 * unreachable cluster), with the stack when LOG_LEVEL=debug.
 */
export async function runAppMain(command: string, file: string, argv: readonly string[]): Promise<void> {
  const [name, ...args] = argv
  const known = appsWith(file)
  if (name === undefined || !/^[a-z][a-z0-9-]*$/.test(name) || !known.includes(name)) {
    process.stderr.write(`${command}: ${name === undefined ? 'name an app' : `unknown app "${name}"`}; known: ${known.join(', ') || '(none)'}\n`)
    process.exit(2)
  }
  const app = (await import(join(APPS_DIR, name, file))) as { main: (args: string[]) => Promise<void> }
  try {
    await app.main(args)
  } catch (err) {
    const detail = process.env.LOG_LEVEL === 'debug' ? (err as Error)?.stack : (err as Error)?.message
    process.stderr.write(`${command} ${name}: ${detail ?? String(err)}\n`)
    process.exit(1)
  }
}
