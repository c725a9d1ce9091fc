/**
 * `npm run bench [-- <name> ...args]`: runs bench/<name>.ts (default: runtime), each exporting
 * `main(args)`. Benchmarks print figures; they never pass or fail on a number.
 */
import { existsSync, readdirSync } from 'node:fs'
import { join } from 'node:path'

const [name = 'runtime', ...args] = process.argv.slice(2)
const file = join(import.meta.dirname, `${name}.ts`)
if (!/^[a-z][a-z0-9-]*$/.test(name) || name === 'run' || !existsSync(file)) {
  const known = readdirSync(import.meta.dirname)
    .filter((f) => f.endsWith('.ts') && f !== 'run.ts')
    .map((f) => f.slice(0, -3))
  process.stderr.write(`bench: unknown benchmark "${name}"; known: ${known.join(', ') || '(none yet)'}\n`)
  process.exit(2)
}
const bench = (await import(file)) as { main: (args: string[]) => Promise<void> }
await bench.main(args)
