import { describe, expect, it } from 'vitest'
import { diffLatestValues } from './compare.ts'

describe('diffLatestValues', () => {
  it('compares values deeply, numbers within a relative 1e-9', () => {
    const expected = new Map([
      ['a', { n: 0.1 + 0.2, h: [1, 2], s: null }],
      ['b', { n: 1, h: [0, 0], s: 'x' }]
    ])
    expect(
      diffLatestValues(
        expected,
        new Map([
          ['a', { n: 0.3, h: [1, 2], s: null }],
          ['b', { n: 1, h: [0, 0], s: 'x' }]
        ])
      )
    ).toEqual([])
    const diff = diffLatestValues(
      expected,
      new Map([
        ['a', { n: 0.3, h: [1, 3], s: null }],
        ['c', { n: 1, h: [0, 0], s: 'x' }]
      ])
    )
    expect(diff.map((line) => line.split(':')[0])).toEqual(['differs a', 'missing b', 'unexpected c'])
    expect(diffLatestValues(new Map<string, object>([['a', { h: [1] }]]), new Map<string, object>([['a', { h: { 0: 1 } }]]))).toHaveLength(1)
    expect(diffLatestValues(new Map<string, object>([['a', { s: null }]]), new Map<string, object>([['a', { s: 0 }]]))).toHaveLength(1)
  })

  it('stops at the limit', () => {
    const expected = new Map(Array.from({ length: 20 }, (_, i) => [`k${i}`, { n: i }] as const))
    expect(diffLatestValues(expected, new Map(), 3)).toHaveLength(3)
  })
})
