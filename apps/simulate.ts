/**
 * `npm run simulate -- <app> [flags]`: runs apps/<app>/simulator.ts, whose `main(args)` produces the
 * app's input events (`--help` lists the flags).
 */
import { runAppMain } from './shared/index.ts'

await runAppMain('simulate', 'simulator.ts', process.argv.slice(2))
