/**
 * `npm run simulate -- <app> [flags]`: runs apps/<app>/simulator.ts, whose `main(args)` produces the
 * app's input events (`--help` lists the flags).
 */
import { existsSync, readdirSync } from 'node:fs'
import { join } from 'node:path'

const [name, ...args] = process.argv.slice(2)
const known = readdirSync(import.meta.dirname, { withFileTypes: true })
  .filter((d) => d.isDirectory() && existsSync(join(import.meta.dirname, d.name, 'simulator.ts'))).map((d) => d.name)
if (name === undefined || !/^[a-z][a-z0-9-]*$/.test(name) || !known.includes(name)) {
  process.stderr.write(`simulate: ${name === undefined ? 'name an app' : `unknown app "${name}"`}; known: ${known.join(', ') || '(none)'}\n`)
  process.exit(2)
}
const simulator = (await import(join(import.meta.dirname, name, 'simulator.ts'))) as { main: (args: string[]) => Promise<void> }
try {
  await simulator.main(args)
} catch (err) {
  process.stderr.write(`simulate ${name}: ${(err as Error)?.message ?? String(err)}\n`)
  process.exit(1)
}
