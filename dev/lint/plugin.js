// @ts-check
/**
 * The project's own lint rule `runnel/layers`: a relative import from one folder into another must
 * follow an arrow of dev/lint/layers.js. Imports resolve against the importing file, so depth and
 * sibling folders (apps/traffic -> ../commerce/) are judged exactly.
 */
import { dirname, relative, resolve, sep } from 'node:path'
import { LAYERS, layerOf } from './layers.js'

const root = resolve(import.meta.dirname, '..', '..')

/** @param {string} path */
const fromRoot = (path) => relative(root, path).split(sep).join('/')

/** @type {import('eslint').Rule.RuleModule} */
const layers = {
  meta: {
    type: 'problem',
    docs: { description: 'folders import each other only along the arrows of dev/lint/layers.js' },
    schema: [],
    messages: { wrongWay: '{{from}}/ may not import {{to}}/ (it may import: {{allowed}}; the arrows are in dev/lint/layers.js)' }
  },
  create(context) {
    const from = layerOf(fromRoot(context.filename))
    if (from === undefined) return {}
    const allowed = LAYERS[from] ?? []
    /** @param {import('estree').Node & { source?: import('estree').Literal | null }} node */
    const check = (node) => {
      const source = node.source?.value
      if (typeof source !== 'string' || !source.startsWith('.')) return
      const to = layerOf(fromRoot(resolve(dirname(context.filename), source)))
      if (to === undefined || to === from || allowed.includes(to)) return
      context.report({ node, messageId: 'wrongWay', data: { from, to, allowed: allowed.length === 0 ? '(nothing)' : allowed.map((a) => `${a}/`).join(', ') } })
    }
    return { ImportDeclaration: check, ExportNamedDeclaration: check, ExportAllDeclaration: check, ImportExpression: (node) => {
      if (node.source.type === 'Literal') check({ ...node, source: node.source })
    } }
  }
}

export const runnelPlugin = { rules: { layers } }
