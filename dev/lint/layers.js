// @ts-check
/**
 * The dependency direction of the project's folders, in one place (as Kafka's import-control): each
 * folder may import the folders listed for it, and no other. Used by the `runnel/layers` lint rule
 * (dev/lint/plugin.js); the README's "Layout" section lists the same arrows (checked by
 * dev/lint/layers.test.ts). Folders not listed here (dev/, bench/, test/) may import anything.
 */

/** @type {Readonly<Record<string, readonly string[]>>} */
export const LAYERS = {
  errors: [],
  kafka: ['errors'],
  schemas: ['errors'],
  state: ['kafka', 'schemas', 'errors'],
  processors: ['state', 'schemas', 'errors'],
  topology: ['processors', 'state', 'schemas', 'errors'],
  runtime: ['topology', 'processors', 'state', 'schemas', 'kafka', 'errors'],
  registry: ['schemas', 'kafka', 'errors'],
  'apps/shared': ['runtime', 'topology', 'processors', 'state', 'schemas', 'registry', 'kafka', 'errors'],
  'apps/traffic': ['apps/shared', 'runtime', 'topology', 'processors', 'state', 'schemas', 'registry', 'kafka', 'errors'],
  'apps/commerce': ['apps/shared', 'runtime', 'topology', 'processors', 'state', 'schemas', 'registry', 'kafka', 'errors'],
  'query-api': ['apps/traffic', 'apps/commerce', 'apps/shared', 'runtime', 'topology', 'processors', 'state', 'schemas', 'registry', 'kafka', 'errors'],
  dashboard: ['query-api']
}

/**
 * The governed folder a repository-relative path lies in (the longest match), or undefined.
 * @param {string} relativePath path from the repository root, `/`-separated
 * @returns {string | undefined}
 */
export function layerOf(relativePath) {
  let found
  for (const folder of Object.keys(LAYERS)) {
    if ((relativePath === folder || relativePath.startsWith(`${folder}/`)) && (found === undefined || folder.length > found.length)) found = folder
  }
  return found
}
