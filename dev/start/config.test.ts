import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { childEnv, START_VARIABLES, startConfigFromEnv, StartConfigError } from './config.ts'

describe('startConfigFromEnv', () => {
  it('has the historical names and ports by default', () => {
    const config = startConfigFromEnv({}, '/repo')
    expect(config.trafficTopics.observations).toBe('traffic.observations')
    expect(config.commerceTopics.analytics).toBe('analytics')
    expect(config.applicationIds).toEqual({ traffic: 'runnel-traffic', commerce: 'runnel-commerce' })
    expect(config.registryTopic).toBe('_schemas')
    expect([config.apiPort, config.registryPort, config.kafkaPort]).toEqual([4000, 8081, 9092])
    expect(config.metricsPorts).toEqual([9401, 9402, 9403])
    expect(config.stateDir).toBe('/repo/.state')
  })

  it('prefixes every topic, application id and the registry topic with RUNNEL_PREFIX; a variable of its own wins', () => {
    const config = startConfigFromEnv({ RUNNEL_PREFIX: 'alice-', TRAFFIC_STATS_1M_TOPIC: 'mine.1m', RUNNEL_METRICS_PORT: '9501' }, '/repo')
    const env = childEnv(config)
    const names = Object.entries(env).filter(([k]) => k.endsWith('_TOPIC') || k.startsWith('QUERY_API_TOPIC') || k.endsWith('_APPLICATION_ID'))
    for (const [variable, name] of names) {
      if (variable === 'TRAFFIC_STATS_1M_TOPIC' || variable === 'QUERY_API_TOPIC_STATS_1M') expect(name).toBe('mine.1m')
      else expect(name, variable).toMatch(/^alice-/)
    }
    expect(config.registryTopic).toBe('alice-_schemas')
    expect(config.metricsPorts).toEqual([9501, 9502, 9503])
  })

  it('names the variable of a bad value', () => {
    expect(() => startConfigFromEnv({ PORT: '70000' }, '/repo')).toThrow(StartConfigError)
    expect(() => startConfigFromEnv({ PORT: '70000' }, '/repo')).toThrow(/^PORT: /)
    expect(() => startConfigFromEnv({ RUNNEL_PREFIX: 'a b' }, '/repo')).toThrow(/^RUNNEL_PREFIX: /)
  })
})

describe('the README', () => {
  it('lists every variable of npm start in its table, with its default', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8')
    for (const [name, [fallback]] of Object.entries(START_VARIABLES)) {
      const shown = fallback.startsWith('(') ? fallback : `\`${fallback}\``
      expect(readme, name).toContain(`| \`${name}\` | ${shown} |`)
    }
  })
})
