/**
 * Debian's chromium for browser tests (never a downloaded browser): installed with apt-get when
 * missing and the tests run as root, otherwise a clear error says how to install it.
 */
import { existsSync } from 'node:fs'
import { spawnSync } from 'node:child_process'

export const CHROMIUM_PATH = '/usr/bin/chromium'

/** Returns the chromium executable, installing Debian's package first when needed and possible. */
export function ensureChromium(): string {
  if (existsSync(CHROMIUM_PATH)) return CHROMIUM_PATH
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0
  if (!isRoot) {
    throw new Error(`browser tests need Debian's chromium at ${CHROMIUM_PATH}: run \`sudo apt-get install chromium\``)
  }
  process.stderr.write('test setup: installing Debian chromium (apt-get install chromium)...\n')
  for (const args of [
    ['update', '-qq'],
    ['install', '-y', '-qq', 'chromium']
  ]) {
    const result = spawnSync('apt-get', args, { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } })
    if (result.status !== 0) throw new Error(`apt-get ${args.join(' ')} failed (exit ${String(result.status)}): cannot install chromium`)
  }
  if (!existsSync(CHROMIUM_PATH)) throw new Error(`chromium was installed but ${CHROMIUM_PATH} is missing`)
  return CHROMIUM_PATH
}
