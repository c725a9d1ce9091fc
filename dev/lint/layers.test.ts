import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { ESLint } from 'eslint'
import tseslint from 'typescript-eslint'
import { describe, expect, it } from 'vitest'
import { LAYERS } from './layers.js'
import { runnelPlugin } from './plugin.js'

const root = join(import.meta.dirname, '..', '..')

/** The README's arrows: lines `- \`from/\` may import: \`a/\`, \`b/\`` (or `nothing`) under "Dependency direction". */
function readmeArrows(): Record<string, string[]> {
  const readme = readFileSync(join(root, 'README.md'), 'utf8')
  const section = readme.slice(readme.indexOf('Dependency direction'))
  const arrows: Record<string, string[]> = {}
  for (const m of section.matchAll(/^- `([a-z/-]+)\/` may import: (.+)$/gm)) {
    const [, from, to] = m as unknown as [string, string, string]
    arrows[from] = to === 'nothing' ? [] : Array.from(to.matchAll(/`([a-z/-]+)\/`/g), (t) => t[1] as string)
  }
  return arrows
}

describe('dependency direction', () => {
  it('the README lists the arrows of dev/lint/layers.js, and its layout names every governed folder', () => {
    expect(readmeArrows()).toEqual(Object.fromEntries(Object.entries(LAYERS).map(([k, v]) => [k, [...v]])))
    const layout = readFileSync(join(root, 'README.md'), 'utf8').split('## Layout')[1] ?? ''
    for (const folder of Object.keys(LAYERS)) expect(layout).toContain(`\n${folder}/`)
  })

  it('refuses an import against the arrows or past an index.ts, and allows one along them', async () => {
    // Only this rule, without type information (the example files do not exist).
    const eslint = new ESLint({
      cwd: root,
      overrideConfigFile: true,
      overrideConfig: [
        { files: ['**/*.ts'], languageOptions: { parser: tseslint.parser }, plugins: { runnel: runnelPlugin }, rules: { 'runnel/layers': 'error' } }
      ]
    })
    const lint = async (file: string, code: string): Promise<string[]> =>
      (await eslint.lintText(code, { filePath: join(root, file) }))[0]?.messages.filter((m) => m.ruleId === 'runnel/layers').map((m) => m.message) ?? []
    expect(await lint('state/zz-example.ts', "export { KafkaStreams } from '../runtime/index.ts'\n")).toEqual([
      'state/ may not import runtime/ (it may import: kafka/, schemas/, errors/; the arrows are in dev/lint/layers.js)'
    ])
    expect(await lint('apps/traffic/zz-example.ts', "export { COMMERCE_TOPICS } from '../commerce/index.ts'\n")).toHaveLength(1)
    expect(await lint('runtime/zz-example.ts', "export { Stores } from '../state/index.ts'\n")).toEqual([])
    // Into another folder only through its index.ts, from anywhere; dev/kafka/ is not kafka/.
    expect(await lint('test/zz-example.ts', "export { RuntimeError } from '../runtime/errors.ts'\n")).toEqual(['import runtime/ only through its index.ts'])
    expect(await lint('dev/supervisor/zz-example.ts', "export { stopKafka } from '../kafka/cluster.ts'\n")).toEqual([])
  })
})
