/**
 * The signed-in API token. It lives in sessionStorage (per tab, gone when the tab closes), never in
 * localStorage or a cookie. Signing out, or any 401 from the API, clears it and returns to sign-in
 * with a message saying why.
 */
import { createSignal } from 'solid-js'
import { takeTokenFromHash } from '../lib/route.ts'

const STORAGE_KEY = 'runnel.dashboard.token'

function stored(): string | null {
  try {
    const value = globalThis.sessionStorage?.getItem(STORAGE_KEY) ?? null
    return value === null || value.trim() === '' ? null : value
  } catch {
    // Storage can be disabled (privacy settings): the token then lasts until the page reloads.
    return null
  }
}

/** A token in the URL fragment (one-click link of `npm start`) wins over a stored one, and leaves the address bar. */
function initial(): string | null {
  const location = globalThis.location
  if (location === undefined) return stored()
  const { token: handed, hash } = takeTokenFromHash(location.hash)
  if (handed === null) return stored()
  globalThis.history?.replaceState(null, '', `${location.pathname}${location.search}${hash}`)
  try {
    globalThis.sessionStorage?.setItem(STORAGE_KEY, handed)
  } catch {
    // See stored().
  }
  return handed
}

const [token, setToken] = createSignal<string | null>(initial())
const [notice, setNotice] = createSignal<string | null>(null)

/** The current token, or null when signed out (reactive). */
export { token }
/** Why the user was signed out, shown on the sign-in screen (reactive). */
export { notice as signOutNotice }

/** Keeps `value` as the token of this tab. */
export function signIn(value: string): void {
  const t = value.trim()
  try {
    globalThis.sessionStorage?.setItem(STORAGE_KEY, t)
  } catch {
    // See stored().
  }
  setNotice(null)
  setToken(t)
}

/** Forgets the token; `message` (if any) is shown on the sign-in screen. */
export function signOut(message?: string): void {
  try {
    globalThis.sessionStorage?.removeItem(STORAGE_KEY)
  } catch {
    // See stored().
  }
  setNotice(message ?? null)
  setToken(null)
}

/** A short, non-secret label of a token for the header: its first 4 characters. */
export function tokenLabel(value: string): string {
  return `${value.slice(0, 4)}…`
}
