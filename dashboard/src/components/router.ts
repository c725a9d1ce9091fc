/** The current hash route as a signal. */
import { createSignal } from 'solid-js'
import { routeFromHash, type Route } from '../lib/route.ts'

const [route, setRoute] = createSignal<Route>(routeFromHash(globalThis.location?.hash ?? ''))
globalThis.addEventListener?.('hashchange', () => setRoute(routeFromHash(location.hash)))

/** The page to show (reactive). */
export { route }
