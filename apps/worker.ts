/**
 * `npm run worker -- <app> [args]`: runs apps/<app>/worker.ts, whose `main(args)` starts the app's
 * topology with `KafkaStreams` (configured by environment variables; `--help` lists them).
 */
import { runAppMain } from './shared/index.ts'

await runAppMain('worker', 'worker.ts', process.argv.slice(2))
