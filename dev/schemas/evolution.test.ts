import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { evolutionProblems } from './evolution.ts'

const dirs: string[] = []
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

const record = (fields: object[]): string => JSON.stringify({ type: 'record', name: 'Reading', namespace: 't', fields })
const V1 = record([
  { name: 'id', type: 'string' },
  { name: 'speed', type: 'double' }
])
const WITH_DEFAULT = record([
  { name: 'id', type: 'string' },
  { name: 'speed', type: 'double' },
  { name: 'p85', type: ['null', 'double'], default: null }
])
const WITHOUT_DEFAULT = record([
  { name: 'id', type: 'string' },
  { name: 'speed', type: 'double' },
  { name: 'flow', type: 'double' }
])

/** A git repository with `schemas/avro/reading.avsc` committed once per version given. */
function repo(...versions: string[]): string {
  const root = mkdtempSync(join(tmpdir(), 'schema-evolution-'))
  dirs.push(root)
  const git = (...args: string[]): void => {
    execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', ...args], { cwd: root, stdio: 'ignore' })
  }
  git('init', '-q')
  mkdirSync(join(root, 'schemas', 'avro'), { recursive: true })
  for (const v of versions) {
    writeFileSync(join(root, 'schemas', 'avro', 'reading.avsc'), v)
    git('add', '.')
    git('commit', '-q', '-m', 'v')
  }
  return root
}

const check = (root: string, text: string) => evolutionProblems(root, 'schemas/avro', [{ path: 'reading.avsc', text }])

describe('schema evolution check', () => {
  it('accepts a new field with a default, and a file git does not know yet', () => {
    expect(check(repo(V1), WITH_DEFAULT)).toEqual([])
    expect(check(repo(V1), V1)).toEqual([])
    expect(evolutionProblems(repo(V1), 'schemas/avro', [{ path: 'new.avsc', text: WITHOUT_DEFAULT }])).toEqual([])
  })

  it('refuses a new field without a default against the working tree and after the change is committed', () => {
    const uncommitted = check(repo(V1), WITHOUT_DEFAULT)
    expect(uncommitted).toHaveLength(1)
    expect(uncommitted[0]?.path).toBe('schemas/avro/reading.avsc')
    expect(uncommitted[0]?.problems.join('\n')).toMatch(/cannot read data written with version 1 \(BACKWARD\).*flow/)
    // Committed: HEAD holds the new text, so the check compares with the version before it.
    expect(check(repo(V1, WITHOUT_DEFAULT), WITHOUT_DEFAULT)).toHaveLength(1)
    // A later compatible change is checked against the version just before it only.
    expect(
      check(
        repo(V1, WITHOUT_DEFAULT),
        record([
          { name: 'id', type: 'string' },
          { name: 'speed', type: 'double' },
          { name: 'flow', type: 'double' },
          { name: 'x', type: 'int', default: 0 }
        ])
      )
    ).toEqual([])
  })
})
