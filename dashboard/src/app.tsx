/** The dashboard shell: sign-in until a token is kept, then the header and the current page. */
import { Match, Show, Switch, type JSX } from 'solid-js'
import { token } from './api/session.ts'
import { Header } from './components/header.tsx'
import { route } from './components/router.ts'
import { SignIn } from './components/sign-in.tsx'
import { Routes } from './lib/route.ts'
import { CommercePage } from './pages/commerce-page.tsx'
import { SystemPage } from './pages/system-page.tsx'
import { TrafficPage } from './pages/traffic-page.tsx'

export function App(): JSX.Element {
  return (
    // Keyed: signing in with another token starts the pages afresh.
    <Show when={token()} keyed fallback={<SignIn />}>
      {(_token) => (
        <div class="shell">
          <Header route={route()} />
          <main class="content">
            <Switch>
              <Match when={route() === Routes.system}>
                <SystemPage />
              </Match>
              <Match when={route() === Routes.traffic}>
                <TrafficPage />
              </Match>
              <Match when={route() === Routes.commerce}>
                <CommercePage />
              </Match>
            </Switch>
          </main>
        </div>
      )}
    </Show>
  )
}
