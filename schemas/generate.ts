/**
 * `npm run schemas`: regenerates schemas/avro/types.generated.ts from the .avsc files.
 * `npm run schemas -- --check`: exits 1 when the committed file differs from what would be generated.
 */
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { AVRO_SCHEMA_DIR, AVRO_TYPES_FILE, generateAvroTypes, loadAvroSchemaFiles } from './avro-codegen.ts'

const root = join(import.meta.dirname, '..')
const check = process.argv.slice(2).includes('--check')
const target = join(root, AVRO_TYPES_FILE)

const generated = generateAvroTypes(await loadAvroSchemaFiles(join(root, AVRO_SCHEMA_DIR)))
if (check) {
  const current = await readFile(target, 'utf8').catch(() => '')
  if (current !== generated) {
    console.error(`${AVRO_TYPES_FILE} is stale: run \`npm run schemas\` and commit the result`)
    process.exit(1)
  }
  console.log(`${AVRO_TYPES_FILE} is up to date`)
} else {
  await writeFile(target, generated)
  console.log(`wrote ${AVRO_TYPES_FILE}`)
}
