/**
 * `npm start`: the local stack on embedded defaults. Starts the local Kafka (unless KAFKA_BROKERS
 * names one) and the services registered below, prints where they are, and stops everything it
 * started on Ctrl-C (SIGINT) or SIGTERM.
 */
import { startKafka, stopKafka } from './kafka/cluster.ts'

const external = process.env.KAFKA_BROKERS?.trim()
let brokers: string[]
let startedKafka = false
if (external !== undefined && external !== '') {
  brokers = external.split(',').map((b) => b.trim())
  process.stdout.write(`runnel: using Kafka at ${brokers.join(',')} (KAFKA_BROKERS)\n`)
} else {
  process.stdout.write('runnel: starting the local Kafka...\n')
  const result = await startKafka('single')
  brokers = result.brokers
  startedKafka = result.started
  process.stdout.write(`runnel: Kafka ${result.started ? 'started' : 'already running'} at ${brokers.join(',')}\n`)
}

process.stdout.write(`\nKAFKA_BROKERS=${brokers.join(',')}\nPress Ctrl-C to stop.\n`)

let stopping = false
async function shutdown(signal: string): Promise<void> {
  if (stopping) return
  stopping = true
  process.stdout.write(`\nrunnel: ${signal}, stopping...\n`)
  if (startedKafka) await stopKafka('single')
  process.stdout.write('runnel: stopped\n')
  process.exit(0)
}
process.on('SIGINT', () => void shutdown('SIGINT'))
process.on('SIGTERM', () => void shutdown('SIGTERM'))
setInterval(() => undefined, 1 << 30)
