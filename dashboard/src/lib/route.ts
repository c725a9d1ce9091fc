/** Hash routes of the dashboard (`#/traffic`, `#/system`): they work with any static file server. */

export const Routes = { traffic: 'traffic', system: 'system' } as const
export type Route = (typeof Routes)[keyof typeof Routes]

/** The route of a `location.hash`; anything unknown is the traffic page. */
export function routeFromHash(hash: string): Route {
  const path = hash.replace(/^#\/?/, '').split(/[?/]/)[0] ?? ''
  return path === Routes.system ? Routes.system : Routes.traffic
}

/** The hash of a route. */
export function hashOf(route: Route): string {
  return `#/${route}`
}
