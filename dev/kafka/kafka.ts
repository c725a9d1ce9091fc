/**
 * `npm run kafka -- start|stop|status|reset [--nodes 3]`: the local Kafka from Maven Central jars.
 * With KAFKA_BROKERS set nothing is started: that cluster is used.
 */
import { bootstrapOf, isRunning, resetKafka, startKafka, stopKafka, type ClusterMode } from './cluster.ts'

const args = process.argv.slice(2)
const command = args.find((a) => !a.startsWith('--')) ?? 'status'
const nodesIndex = args.indexOf('--nodes')
const nodes = nodesIndex >= 0 ? Number(args[nodesIndex + 1]) : 1
if (nodes !== 1 && nodes !== 3) {
  process.stderr.write(`kafka: --nodes must be 1 or 3, got ${String(args[nodesIndex + 1])}\n`)
  process.exit(2)
}
const mode: ClusterMode = nodes === 3 ? 'cluster' : 'single'

const external = process.env.KAFKA_BROKERS
if (external !== undefined && external !== '') {
  process.stdout.write(`KAFKA_BROKERS=${external} is set: using that cluster, nothing started or stopped here\n`)
  process.exit(0)
}

switch (command) {
  case 'start': {
    const { brokers, started } = await startKafka(mode)
    if (!started) process.stderr.write('kafka: already running\n')
    process.stdout.write(`${brokers.join(',')}\n`)
    break
  }
  case 'stop':
    if (!(await stopKafka(mode))) process.stderr.write('kafka: not running\n')
    break
  case 'status':
    process.stdout.write(isRunning(mode) ? `running at ${bootstrapOf(mode).join(',')}\n` : 'not running\n')
    break
  case 'reset':
    await resetKafka(mode)
    break
  default:
    process.stderr.write(`kafka: unknown command ${command}; use start|stop|status|reset [--nodes 3]\n`)
    process.exit(2)
}
