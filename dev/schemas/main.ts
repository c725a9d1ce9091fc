/**
 * `npm run schemas`: checks that every changed `.avsc` file stays BACKWARD compatible with its last
 * committed version (evolution.ts), then regenerates schemas/avro/types.generated.ts.
 * `npm run schemas -- --check`: the same compatibility check, then exits 1 when the committed types
 * differ from what would be generated (`npm test` runs it).
 */
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { AVRO_SCHEMA_DIR, AVRO_TYPES_FILE, generateAvroTypes, loadAvroSchemaFiles } from '../../schemas/index.ts'
import { evolutionProblems } from './evolution.ts'

const root = join(import.meta.dirname, '..', '..')
const check = process.argv.slice(2).includes('--check')
const target = join(root, AVRO_TYPES_FILE)

const files = await loadAvroSchemaFiles(join(root, AVRO_SCHEMA_DIR))
const incompatible = evolutionProblems(root, AVRO_SCHEMA_DIR, files)
if (incompatible.length > 0) {
  for (const f of incompatible) {
    console.error(`${f.path} is not BACKWARD compatible with its version in commit ${f.against}:\n${f.problems.map((p) => `  - ${p}`).join('\n')}`)
  }
  console.error('A new version must read data written with the previous one: give new fields a default, do not remove symbols or change types.')
  process.exit(1)
}
const generated = generateAvroTypes(files)
if (check) {
  const current = await readFile(target, 'utf8').catch(() => '')
  if (current !== generated) {
    console.error(`${AVRO_TYPES_FILE} is stale: run \`npm run schemas\` and commit the result`)
    process.exit(1)
  }
  console.log(`${AVRO_TYPES_FILE} is up to date; every schema is BACKWARD compatible with its previous version`)
} else {
  await writeFile(target, generated)
  console.log(`wrote ${AVRO_TYPES_FILE}; every schema is BACKWARD compatible with its previous version`)
}
