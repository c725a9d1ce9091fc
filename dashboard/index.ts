/**
 * dashboard/: the Solid + Vite web app of the traffic and commerce stacks (traffic, commerce and
 * system pages), calling the query API through a typed tRPC client. The query API serves its build
 * at `/`.
 *
 * Build from Node with `buildDashboard()` (what `npm run build:dashboard`, `npm start` and the
 * end-to-end test use), or run `npm run dev:dashboard` for Vite's dev server with hot reload.
 */
import { join } from 'node:path'

/** The dashboard's source folder (Vite root). */
export const DASHBOARD_ROOT = import.meta.dirname
/** Where `npm run build:dashboard` writes the build (the query API's default static folder). */
export const DASHBOARD_DIST_DIR = join(import.meta.dirname, 'dist')

/** Options of `buildDashboard`. */
export interface BuildDashboardOptions {
  /** Output folder (emptied first). Default `dashboard/dist`. */
  readonly outDir?: string
  /** Vite's log level. Default `warn`. */
  readonly logLevel?: 'info' | 'warn' | 'error' | 'silent'
}

/** Builds the dashboard for production into `outDir`; resolves to that folder. */
export async function buildDashboard(options: BuildDashboardOptions = {}): Promise<string> {
  const outDir = options.outDir ?? DASHBOARD_DIST_DIR
  if (typeof outDir !== 'string' || outDir.trim() === '') throw new TypeError('buildDashboard: option "outDir" must be a non-empty path')
  // Vite is a development dependency: loaded only when a build is asked for.
  const { build } = await import('vite')
  await build({
    root: DASHBOARD_ROOT,
    configFile: join(DASHBOARD_ROOT, 'vite.config.ts'),
    logLevel: options.logLevel ?? 'warn',
    build: { outDir, emptyOutDir: true }
  })
  return outDir
}
