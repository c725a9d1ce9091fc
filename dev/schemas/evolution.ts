/**
 * Schema evolution guard of `npm run schemas`: every `.avsc` file must be BACKWARD compatible with
 * its last committed version that differs from it (the new schema must read data written with the
 * old one, the registry's default rule). "Last committed" is taken from git history, so the check
 * means the same before a commit (working tree against HEAD) and after it (HEAD against the version
 * before), as in CI on a clean clone. Files that git does not know yet have nothing to break.
 */
import { execFileSync } from 'node:child_process'
import { join } from 'node:path'
import avro from 'avsc'
import { CompatibilityLevels, compatibilityProblems } from '../../registry/index.ts'
import type { AvroSchemaFile } from '../../schemas/index.ts'

/** One incompatible change: the file, the commit it is checked against, and why. */
export interface EvolutionProblem {
  readonly path: string
  readonly against: string
  readonly problems: readonly string[]
}

function git(cwd: string, args: string[]): string | undefined {
  try {
    return execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 64 * 1024 * 1024 })
  } catch {
    return undefined
  }
}

/** The parsed schema of `text` (versions are compared by their full schema, defaults and docs included). */
function parse(text: string): avro.Type {
  return avro.Type.forSchema(JSON.parse(text) as avro.Schema)
}

/**
 * The previous version of `repoPath` in git: the newest committed text whose canonical schema differs
 * from `current`, with its commit; undefined when there is none (a new file, or not a git checkout).
 */
export function previousVersion(root: string, repoPath: string, current: avro.Type): { commit: string; type: avro.Type } | undefined {
  const commits =
    git(root, ['log', '--format=%H', '--', repoPath])
      ?.split('\n')
      .filter((c) => c !== '') ?? []
  for (const commit of commits) {
    const text = git(root, ['show', `${commit}:${repoPath}`])
    if (text === undefined) continue
    const type = parse(text)
    if (JSON.stringify(type.schema()) !== JSON.stringify(current.schema())) return { commit, type }
  }
  return undefined
}

/** The schema files (paths relative to `schemaDir`) that are not BACKWARD compatible with their previous version. */
export function evolutionProblems(root: string, schemaDir: string, files: readonly AvroSchemaFile[]): EvolutionProblem[] {
  const found: EvolutionProblem[] = []
  for (const file of files) {
    const current = parse(file.text)
    const repoPath = join(schemaDir, file.path).split('\\').join('/')
    const previous = previousVersion(root, repoPath, current)
    if (previous === undefined) continue
    const problems = compatibilityProblems(CompatibilityLevels.BACKWARD, current, [{ version: 1, type: previous.type }])
    if (problems.length > 0) found.push({ path: repoPath, against: previous.commit.slice(0, 12), problems })
  }
  return found
}
