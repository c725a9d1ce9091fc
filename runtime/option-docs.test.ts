import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { markdownTable, optionDocs, tableIn } from './option-docs.ts'

describe('option docs', () => {
  it('shows each option with its default (the declared text, the default value, required or none) and its doc', () => {
    const schema = z.strictObject({
      name: z.string().describe('the name'),
      port: z.int().default(80).describe('a port'),
      dir: z.string().default('./x').describe('a folder'),
      id: z.string().optional().meta({ defaultText: 'derived' }).describe('an id'),
      hook: z.string().optional().describe('a hook')
    })
    expect(optionDocs(schema)).toEqual([
      { option: 'name', defaultText: '(required)', doc: 'the name' },
      { option: 'port', defaultText: '80', doc: 'a port' },
      { option: 'dir', defaultText: '`./x`', doc: 'a folder' },
      { option: 'id', defaultText: 'derived', doc: 'an id' },
      { option: 'hook', defaultText: '(none)', doc: 'a hook' }
    ])
  })

  it('renders a Markdown table and finds one by its header line', () => {
    const table = markdownTable(['a', 'b'], [['1', 'x | y']])
    expect(table).toEqual(['| a | b |', '|---|---|', '| 1 | x \\| y |'])
    expect(tableIn(['intro', '', ...table, '', 'after'].join('\n'), '| a | b |')).toEqual(table)
    expect(tableIn('no table', '| a | b |')).toEqual([])
  })
})
