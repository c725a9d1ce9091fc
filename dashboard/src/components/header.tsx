/** The top bar: product name, page navigation, and the signed-in token with a sign-out button. */
import type { JSX } from 'solid-js'
import { signOut, token, tokenLabel } from '../api/session.ts'
import { hashOf, Routes, type Route } from '../lib/route.ts'

function Logo(): JSX.Element {
  // The product mark (decoration, not data).
  return (
    <svg class="logo" viewBox="0 0 32 32" aria-hidden="true">
      <rect width="32" height="32" rx="8" fill="currentColor" />
      <path d="M6 20c5 0 6-8 11-8s5 6 9 6" stroke="#fff" stroke-width="3" fill="none" stroke-linecap="round" />
    </svg>
  )
}

export function Header(props: { route: Route }): JSX.Element {
  const link = (r: Route, label: string): JSX.Element => (
    <a
      href={hashOf(r)}
      class="nav-link"
      classList={{ active: props.route === r }}
      aria-current={props.route === r ? 'page' : undefined}
      data-testid={`nav-${r}`}
    >
      {label}
    </a>
  )
  return (
    <header class="topbar">
      <div class="topbar-inner">
        <a class="brand" href={hashOf(Routes.traffic)}>
          <Logo />
          <span class="brand-name">Runnel</span>
          <span class="brand-tag">Stream analytics</span>
        </a>
        <nav class="nav" aria-label="Pages">
          {link(Routes.traffic, 'Traffic')}
          {link(Routes.commerce, 'Commerce')}
          {link(Routes.system, 'System')}
        </nav>
        <div class="topbar-end">
          <span class="token-chip" title="Signed in with this API token">
            {tokenLabel(token() ?? '')}
          </span>
          <button type="button" class="button button-ghost" onClick={() => signOut('You signed out.')} data-testid="sign-out">
            Sign out
          </button>
        </div>
      </div>
    </header>
  )
}
