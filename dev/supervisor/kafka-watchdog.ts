/**
 * `node dev/supervisor/kafka-watchdog.ts <port>`: stops the local Kafka on `<port>` (dev/kafka, only
 * a broker whose pid file it wrote) once its stdin reaches its end, i.e. once the `npm start` that
 * started the broker and holds the other end of the pipe is gone, even by SIGKILL. After a clean
 * stop `npm start` has already stopped the broker and this finds nothing to do.
 */
import { stopKafka } from '../kafka/cluster.ts'

const port = Number(process.argv[2])
if (!Number.isInteger(port) || port < 1 || port > 65534) {
  process.stderr.write(`kafka-watchdog: expected a broker port, got ${JSON.stringify(process.argv[2])}\n`)
  process.exit(2)
}
// A Ctrl-C or SIGTERM meant for the stack is the supervisor's to handle: only the pipe's end counts here.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => undefined)
process.stdin.on('data', () => undefined)
process.stdin.on('end', () => {
  void stopKafka('single', { port }).finally(() => process.exit(0))
})
process.stdin.resume()
