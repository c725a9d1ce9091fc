/**
 * The sign-in screen: an API token is checked against the query API before it is kept (a `read`
 * token opens the traffic page; an `admin`-only token goes to the system page).
 */
import { createSignal, Show, type JSX } from 'solid-js'
import { createApiClient, defaultApiUrl } from '../api/client.ts'
import { describeProblem } from '../api/errors.ts'
import { signIn, signOutNotice } from '../api/session.ts'
import { hashOf, Routes } from '../lib/route.ts'

/** Outcome of checking a token: which page it can open, or why it cannot be used. */
async function checkToken(value: string): Promise<{ ok: true; route: 'traffic' | 'system' } | { ok: false; message: string }> {
  const client = createApiClient(value, defaultApiUrl())
  try {
    await client.traffic.sensors.query()
    return { ok: true, route: Routes.traffic }
  } catch (err) {
    const problem = describeProblem(err)
    if (problem.kind === 'unauthorized') return { ok: false, message: 'This token is not valid for this query API.' }
    if (problem.kind !== 'forbidden') return { ok: false, message: `Could not check the token: ${problem.message}.` }
  }
  // Valid but without the read scope: maybe an admin token.
  try {
    await client.system.topology.query()
    return { ok: true, route: Routes.system }
  } catch (err) {
    const problem = describeProblem(err)
    if (problem.kind === 'forbidden') return { ok: false, message: 'This token has neither the "read" nor the "admin" scope.' }
    if (problem.kind === 'not-available') return { ok: true, route: Routes.system }
    return { ok: false, message: `Could not check the token: ${problem.message}.` }
  }
}

export function SignIn(): JSX.Element {
  const [value, setValue] = createSignal('')
  const [error, setError] = createSignal<string | null>(null)
  const [busy, setBusy] = createSignal(false)

  const submit = async (event: SubmitEvent): Promise<void> => {
    event.preventDefault()
    const t = value().trim()
    if (t === '') {
      setError('Enter an API token.')
      return
    }
    setBusy(true)
    setError(null)
    const result = await checkToken(t)
    setBusy(false)
    if (!result.ok) {
      setError(result.message)
      return
    }
    if (result.route === Routes.system) location.hash = hashOf(Routes.system)
    signIn(t)
  }

  return (
    <main class="signin">
      <form class="signin-card" onSubmit={(e) => void submit(e)} data-testid="sign-in">
        <div class="signin-brand">
          <svg class="logo logo-lg" viewBox="0 0 32 32" aria-hidden="true">
            <rect width="32" height="32" rx="8" fill="currentColor" />
            <path d="M6 20c5 0 6-8 11-8s5 6 9 6" stroke="#fff" stroke-width="3" fill="none" stroke-linecap="round" />
          </svg>
          <div>
            <h1>Runnel</h1>
            <p class="muted">Traffic and commerce analytics on Kafka Streams</p>
          </div>
        </div>
        <Show when={signOutNotice() !== null}>
          <p class="notice" role="status" data-testid="sign-in-notice">
            {signOutNotice()}
          </p>
        </Show>
        <label class="field">
          <span class="field-label">API token</span>
          <input
            type="password"
            name="token"
            autocomplete="current-password"
            placeholder="Paste your token"
            value={value()}
            onInput={(e) => setValue(e.currentTarget.value)}
            aria-invalid={error() !== null}
            aria-describedby="token-help"
            autofocus
          />
        </label>
        <p id="token-help" class="field-help">
          Tokens are configured on the query API (<code>QUERY_API_TOKENS</code>). The token stays in this tab only.
        </p>
        <Show when={error() !== null}>
          <p class="form-error" role="alert" data-testid="sign-in-error">
            {error()}
          </p>
        </Show>
        <button type="submit" class="button button-primary button-block" disabled={busy()}>
          {busy() ? 'Checking…' : 'Sign in'}
        </button>
      </form>
    </main>
  )
}
