import { networkInterfaces } from 'node:os'
import { Counter, Registry } from 'prom-client'
import { afterEach, describe, expect, it } from 'vitest'
import { DEFAULT_METRICS_HOST, startMetricsServer } from './metrics.ts'

const servers: { close(): Promise<void> }[] = []
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()))
})

function registryWithOneCounter(): Registry {
  const registry = new Registry()
  new Counter({ name: 'test_things_total', help: 'things', registers: [registry] }).inc(3)
  return registry
}

// An address of this machine that is not loopback, if it has one.
const externalAddress = Object.values(networkInterfaces())
  .flat()
  .find((i) => i !== undefined && i.family === 'IPv4' && !i.internal)?.address

async function reachable(host: string, port: number): Promise<boolean> {
  try {
    const res = await fetch(`http://${host}:${port}/metrics`, { signal: AbortSignal.timeout(2000) })
    await res.text()
    return res.ok
  } catch {
    return false
  }
}

describe('startMetricsServer', () => {
  it('listens on 127.0.0.1 by default and serves /metrics there', async () => {
    const server = await startMetricsServer(registryWithOneCounter(), 0)
    servers.push(server)
    expect(DEFAULT_METRICS_HOST).toBe('127.0.0.1')
    expect(server.host).toBe('127.0.0.1')
    const res = await fetch(`http://127.0.0.1:${server.port}/metrics`)
    expect(await res.text()).toContain('test_things_total 3')
    expect((await fetch(`http://127.0.0.1:${server.port}/other`)).status).toBe(404)
  })

  it.skipIf(externalAddress === undefined)('is not reachable through another interface unless a host is given', async () => {
    const address = externalAddress ?? ''
    const local = await startMetricsServer(registryWithOneCounter(), 0)
    servers.push(local)
    expect(await reachable(address, local.port)).toBe(false)
    const everywhere = await startMetricsServer(registryWithOneCounter(), 0, '0.0.0.0')
    servers.push(everywhere)
    expect(everywhere.host).toBe('0.0.0.0')
    expect(await reachable(address, everywhere.port)).toBe(true)
  })

  it('rejects when the port is taken, and an empty host', async () => {
    const first = await startMetricsServer(registryWithOneCounter(), 0)
    servers.push(first)
    await expect(startMetricsServer(registryWithOneCounter(), first.port)).rejects.toMatchObject({ code: 'EADDRINUSE' })
    await expect(startMetricsServer(registryWithOneCounter(), 0, ' ')).rejects.toThrow(/host must be a non-empty string/)
  })
})
