/**
 * Preloaded into every child of `npm start` (`node --import dev/supervisor/parent-watch.ts ...`): the
 * child stops itself when its supervisor is gone, even when the supervisor was SIGKILLed and could not
 * stop it. Two signs, both reliable on Linux: the stdin pipe from the supervisor reaches its end (the
 * kernel closes it with the supervisor), and the parent pid changes (the child was re-parented).
 * The child then gets SIGTERM from itself (its own clean shutdown runs), and exits after 20 s if that
 * shutdown hangs.
 */
const parentPid = process.ppid
let stopping = false

function parentGone(sign: string): void {
  if (stopping) return
  stopping = true
  process.stderr.write(`parent-watch: the supervisor (pid ${parentPid}) is gone (${sign}): stopping pid ${process.pid}\n`)
  setTimeout(() => process.exit(1), 20_000).unref()
  process.kill(process.pid, 'SIGTERM')
}

if (!process.stdin.isTTY) {
  process.stdin.on('end', () => parentGone('stdin closed'))
  process.stdin.on('error', () => parentGone('stdin error'))
  process.stdin.on('data', () => undefined)
  process.stdin.resume()
  // The pipe must not keep a child alive that has finished its work.
  ;(process.stdin as { unref?: () => void }).unref?.()
}
setInterval(() => {
  if (process.ppid !== parentPid) parentGone(`re-parented to pid ${process.ppid}`)
}, 1000).unref()
