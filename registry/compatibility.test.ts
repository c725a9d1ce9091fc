import avro from 'avsc'
import { describe, expect, it } from 'vitest'
import { type CompatibilityLevel, CompatibilityLevels, compatibilityProblems, parseCompatibilityLevel } from './compatibility.ts'

const record = (fields: unknown[]) => avro.Type.forSchema({ type: 'record', name: 'R', fields } as avro.Schema)
const versions = (...types: avro.Type[]) => types.map((type, i) => ({ version: i + 1, type }))

const a = record([{ name: 'a', type: 'int' }])
const aDefault = record([{ name: 'a', type: 'int', default: 0 }])
const aPlusB = record([
  { name: 'a', type: 'int' },
  { name: 'b', type: 'int', default: 0 }
])
const aPlusC = record([
  { name: 'a', type: 'int' },
  { name: 'c', type: 'int' }
])
const empty = record([])
const aString = record([{ name: 'a', type: 'string' }])
const aIntDefault = record([{ name: 'a', type: 'int', default: 0 }])

const ok = (level: CompatibilityLevel, candidate: avro.Type, existing: avro.Type[]) =>
  compatibilityProblems(level, candidate, versions(...existing)).length === 0

describe('compatibility levels', () => {
  it('adding a field with a default is compatible at every level', () => {
    for (const level of Object.values(CompatibilityLevels)) expect(ok(level, aPlusB, [a]), level).toBe(true)
  })

  it('adding a field without a default breaks BACKWARD and FULL but not FORWARD', () => {
    expect(ok('BACKWARD', aPlusC, [a])).toBe(false)
    expect(ok('FULL', aPlusC, [a])).toBe(false)
    expect(ok('FORWARD', aPlusC, [a])).toBe(true)
    expect(ok('NONE', aPlusC, [a])).toBe(true)
  })

  it('removing a field without a default breaks FORWARD and FULL but not BACKWARD', () => {
    expect(ok('FORWARD', empty, [a])).toBe(false)
    expect(ok('FULL', empty, [a])).toBe(false)
    expect(ok('BACKWARD', empty, [a])).toBe(true)
  })

  it('changing a field type incompatibly is refused by every level but NONE', () => {
    for (const level of Object.values(CompatibilityLevels)) expect(ok(level, aString, [a]), level).toBe(level === 'NONE')
  })

  it('BACKWARD checks the latest version only, BACKWARD_TRANSITIVE every version', () => {
    // v1 a:string, v2 drops a, v3 brings a back as an int: v3 reads v2 data but not v1 data.
    const history = [aString, empty]
    expect(ok('BACKWARD', aIntDefault, history)).toBe(true)
    const problems = compatibilityProblems('BACKWARD_TRANSITIVE', aIntDefault, versions(...history))
    expect(problems).toEqual(['the new schema cannot read data written with version 1 (BACKWARD_TRANSITIVE): cannot read "string" as "int"'])
  })

  it('FORWARD checks the latest version only, FORWARD_TRANSITIVE every version', () => {
    // v1 needs a, v2 defaults it, v3 drops it: v2 reads v3 data, v1 does not.
    const history = [a, aDefault]
    expect(ok('FORWARD', empty, history)).toBe(true)
    const problems = compatibilityProblems('FORWARD_TRANSITIVE', empty, versions(...history))
    expect(problems).toHaveLength(1)
    expect(problems[0]).toMatch(/^version 1 cannot read data written with the new schema \(FORWARD_TRANSITIVE\): /)
  })

  it('FULL checks both directions against the latest, FULL_TRANSITIVE against every version', () => {
    const history = [a, aDefault]
    expect(ok('FULL', empty, history)).toBe(true)
    expect(ok('FULL_TRANSITIVE', empty, history)).toBe(false)
    expect(ok('FULL_TRANSITIVE', aPlusB, [a, aPlusB])).toBe(true)
  })

  it('a subject without versions accepts anything', () => {
    for (const level of Object.values(CompatibilityLevels)) expect(ok(level, aString, []), level).toBe(true)
  })

  it('level names are case-insensitive and unknown ones are rejected', () => {
    expect(parseCompatibilityLevel('full_transitive')).toBe('FULL_TRANSITIVE')
    expect(parseCompatibilityLevel('sideways')).toBeUndefined()
    expect(parseCompatibilityLevel(3)).toBeUndefined()
  })
})
