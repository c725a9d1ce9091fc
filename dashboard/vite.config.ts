/**
 * Vite configuration of the dashboard: Solid's JSX transform, a build into `dashboard/dist` (served by
 * the query API at `/`), and a dev server that proxies `/trpc` (queries and SSE subscriptions) to the
 * query API at QUERY_API_URL (default http://127.0.0.1:4000).
 */
import { defineConfig } from 'vite'
import solid from 'vite-plugin-solid'

const queryApiUrl = process.env.QUERY_API_URL?.trim() || 'http://127.0.0.1:4000'

export default defineConfig({
  root: import.meta.dirname,
  // Relative asset URLs: the build works wherever the query API mounts it.
  base: './',
  plugins: [solid()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    chunkSizeWarningLimit: 600
  },
  server: {
    host: process.env.DASHBOARD_HOST?.trim() || '127.0.0.1',
    port: Number(process.env.DASHBOARD_PORT?.trim() || 5173),
    proxy: {
      '/trpc': { target: queryApiUrl, changeOrigin: true }
    }
  },
  preview: {
    proxy: {
      '/trpc': { target: queryApiUrl, changeOrigin: true }
    }
  }
})
