/**
 * Serves a folder (the dashboard build) at `/`: files by path, `index.html` for any other path
 * without a file extension (client-side routes). Paths cannot leave the folder. Every answer carries
 * the security headers of `SECURITY_HEADERS`.
 */
import { createReadStream } from 'node:fs'
import { stat } from 'node:fs/promises'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { extname, join, resolve, sep } from 'node:path'

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.ico': 'image/x-icon',
  '.webp': 'image/webp',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
  '.webmanifest': 'application/manifest+json'
}

/**
 * Headers of every static answer. The dashboard's Vite build loads only its own scripts and styles
 * (no inline script); `style-src 'unsafe-inline'` is kept for the inline `style` attributes Solid
 * and uPlot set, `img-src data:` for the inline SVG favicon of index.html. The API is same-origin
 * (`/trpc`), so `connect-src 'self'` covers queries and SSE.
 */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "font-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'"
  ].join('; '),
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer'
}

function plain(res: ServerResponse, status: number, message: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', ...SECURITY_HEADERS, ...headers })
  res.end(`${message}\n`)
}

async function fileAt(path: string): Promise<{ path: string; size: number } | undefined> {
  try {
    const s = await stat(path)
    return s.isFile() ? { path, size: s.size } : undefined
  } catch {
    return undefined
  }
}

/** Answers `req` from `root` (GET and HEAD only). `pathname` is the already-parsed URL path. */
export async function serveStatic(root: string | null, pathname: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    plain(res, 405, `method ${req.method ?? '?'} is not allowed here; use GET`, { allow: 'GET, HEAD' })
    return
  }
  if (root === null) {
    plain(res, 404, 'not found (no static folder is configured; the API is under /trpc)')
    return
  }
  let decoded: string
  try {
    decoded = decodeURIComponent(pathname)
  } catch {
    plain(res, 400, 'malformed path')
    return
  }
  if (decoded.includes('\u0000')) {
    plain(res, 400, 'malformed path')
    return
  }
  const base = resolve(root)
  const target = resolve(join(base, decoded))
  if (target !== base && !target.startsWith(base + sep)) {
    plain(res, 404, 'not found')
    return
  }
  let file = target === base ? undefined : await fileAt(target)
  if (file === undefined && (target === base || extname(decoded) === '')) file = await fileAt(join(base, 'index.html'))
  if (file === undefined) {
    plain(res, 404, 'not found')
    return
  }
  const type = CONTENT_TYPES[extname(file.path).toLowerCase()] ?? 'application/octet-stream'
  // Vite puts content-hashed files under assets/: they never change. Everything else is revalidated.
  const immutable = file.path.startsWith(join(base, 'assets') + sep)
  res.writeHead(200, {
    'content-type': type,
    'content-length': String(file.size),
    'cache-control': immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
    ...SECURITY_HEADERS
  })
  if (req.method === 'HEAD') {
    res.end()
    return
  }
  const stream = createReadStream(file.path)
  stream.on('error', () => res.destroy())
  stream.pipe(res)
}
