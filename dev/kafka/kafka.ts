/**
 * `npm run kafka -- start|stop|status|reset [--nodes 3] [--port <n>]`: the local Kafka from Maven
 * Central jars. `--port` (or KAFKA_PORT) moves the single node to broker port n, controller n + 1,
 * with its own data folder. With KAFKA_BROKERS set nothing is started: that cluster is used.
 *
 * A broker this script did not start is never taken for its own: `status` and `start` name it
 * (its pid and command line when the system shows them). Exit codes of `status`: 0 ours runs,
 * 1 a process we did not start holds our ports, 3 not running. `start` exits 1 when it cannot
 * start or its broker exits before it is ready.
 */
import {
  describeKafka,
  ForeignKafkaError,
  inspectKafka,
  describeForeign,
  KafkaExitedError,
  resetKafka,
  startKafka,
  stopKafka,
  type ClusterMode,
  type KafkaLayout
} from './cluster.ts'

const args = process.argv.slice(2)
const valueOf = (flag: string): string | undefined => {
  const i = args.indexOf(flag)
  return i >= 0 ? (args[i + 1] ?? '') : undefined
}
const flagValues = new Set(['--nodes', '--port'].map((f) => valueOf(f)).filter((v) => v !== undefined))
const command = args.find((a) => !a.startsWith('--') && !flagValues.has(a)) ?? 'status'

const fail = (message: string, code = 2): never => {
  process.stderr.write(`kafka: ${message}\n`)
  process.exit(code)
}

const nodesArg = valueOf('--nodes')
const nodes = nodesArg === undefined ? 1 : Number(nodesArg)
if (nodes !== 1 && nodes !== 3) fail(`--nodes must be 1 or 3, got ${String(nodesArg)}`)
const mode: ClusterMode = nodes === 3 ? 'cluster' : 'single'

const portArg = valueOf('--port') ?? (process.env.KAFKA_PORT?.trim() || undefined)
let layout: KafkaLayout = {}
if (portArg !== undefined) {
  const port = Number(portArg)
  if (!/^\d+$/.test(portArg) || port < 1 || port > 65534) fail(`--port (or KAFKA_PORT) must be a port from 1 to 65534, got ${portArg}`)
  if (mode === 'cluster') fail('--port (or KAFKA_PORT) applies to the single node only, not to --nodes 3')
  layout = { port }
}

const external = process.env.KAFKA_BROKERS
if (external !== undefined && external !== '') {
  process.stdout.write(`KAFKA_BROKERS=${external} is set: using that cluster, nothing started or stopped here\n`)
  process.exit(0)
}

switch (command) {
  case 'start': {
    try {
      const { brokers, started } = await startKafka(mode, layout)
      if (!started) process.stderr.write('kafka: already running\n')
      process.stdout.write(`${brokers.join(',')}\n`)
    } catch (err) {
      if (err instanceof ForeignKafkaError) fail(`cannot start: ${err.message}`, 1)
      if (err instanceof KafkaExitedError) fail(err.message, 1)
      throw err
    }
    break
  }
  case 'stop':
    if (!(await stopKafka(mode, layout))) {
      const inspection = await inspectKafka(mode, layout)
      process.stderr.write(
        inspection.foreign ? `kafka: not running (nothing of ours to stop); left alone: ${describeForeign(inspection)}\n` : 'kafka: not running\n'
      )
    }
    break
  case 'status': {
    const status = await describeKafka(mode, layout)
    process.stdout.write(`${status.text}\n`)
    process.exitCode = status.running ? 0 : status.foreign ? 1 : 3
    break
  }
  case 'reset':
    await resetKafka(mode, layout)
    break
  default:
    fail(`unknown command ${command}; use start|stop|status|reset [--nodes 3] [--port <n>]`)
}
