/**
 * `npm run worker -- <app> [args]`: runs apps/<app>/worker.ts, whose `main(args)` starts the app's
 * topology with `KafkaStreams` (configured by environment variables; `--help` lists them).
 */
import { existsSync, readdirSync } from 'node:fs'
import { join } from 'node:path'

const [name, ...args] = process.argv.slice(2)
const known = readdirSync(import.meta.dirname, { withFileTypes: true })
  .filter((d) => d.isDirectory() && existsSync(join(import.meta.dirname, d.name, 'worker.ts'))).map((d) => d.name)
if (name === undefined || !/^[a-z][a-z0-9-]*$/.test(name) || !known.includes(name)) {
  process.stderr.write(`worker: ${name === undefined ? 'name an app' : `unknown app "${name}"`}; known: ${known.join(', ') || '(none)'}\n`)
  process.exit(2)
}
const worker = (await import(join(import.meta.dirname, name, 'worker.ts'))) as { main: (args: string[]) => Promise<void> }
try {
  await worker.main(args)
} catch (err) {
  // The message names what is wrong (a bad variable, an unreachable cluster); the stack only with LOG_LEVEL=debug.
  const detail = process.env.LOG_LEVEL === 'debug' ? (err as Error)?.stack : (err as Error)?.message
  process.stderr.write(`worker ${name}: ${detail ?? String(err)}\n`)
  process.exit(1)
}
