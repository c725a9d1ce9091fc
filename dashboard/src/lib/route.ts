/** Hash routes of the dashboard (`#/traffic`, `#/commerce`, `#/system`): they work with any static file server. */

export const Routes = { traffic: 'traffic', commerce: 'commerce', system: 'system' } as const
export type Route = (typeof Routes)[keyof typeof Routes]

const ROUTES: readonly string[] = Object.values(Routes)

/** The route of a `location.hash`; anything unknown is the traffic page. */
export function routeFromHash(hash: string): Route {
  const path = hash.replace(/^#\/?/, '').split(/[?/]/)[0] ?? ''
  return ROUTES.includes(path) ? (path as Route) : Routes.traffic
}

/** The hash of a route. */
export function hashOf(route: Route): string {
  return `#/${route}`
}

/**
 * A token handed over in the URL fragment (`#token=...` or `#/system?token=...`, what `npm start`
 * prints for one-click sign-in), and the fragment without it. Fragments never reach the server;
 * the page removes it from the address bar right away.
 */
export function takeTokenFromHash(hash: string): { token: string | null; hash: string } {
  const body = hash.replace(/^#/, '')
  const q = body.indexOf('?')
  const path = body.includes('=') && q < 0 ? '' : q < 0 ? body : body.slice(0, q)
  const query = body.includes('=') && q < 0 ? body : q < 0 ? '' : body.slice(q + 1)
  const params = new URLSearchParams(query)
  const token = params.get('token')
  if (token === null || token.trim() === '') return { token: null, hash }
  params.delete('token')
  const rest = params.toString()
  const next = `${path}${rest === '' ? '' : `?${rest}`}`
  return { token: token.trim(), hash: next === '' ? '' : `#${next}` }
}
