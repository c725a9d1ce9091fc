// @ts-check
/**
 * The project's own lint rule `runnel/layers`: a relative import into another folder of
 * dev/lint/layers.js goes through that folder's index.ts (from anywhere, tests and scripts too), and
 * from one of those folders only along its arrows. Imports resolve against the importing file, so
 * depth, sibling folders (apps/traffic -> ../commerce/) and like-named subfolders (dev/kafka/) are
 * judged exactly.
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
    messages: {
      wrongWay: '{{from}}/ may not import {{to}}/ (it may import: {{allowed}}; the arrows are in dev/lint/layers.js)',
      throughIndex: 'import {{to}}/ only through its index.ts'
    }
  },
  create(context) {
    const from = layerOf(fromRoot(context.filename))
    const allowed = from === undefined ? undefined : (LAYERS[from] ?? [])
    /** @param {import('estree').Node & { source?: import('estree').Literal | null }} node */
    const check = (node) => {
      const source = node.source?.value
      if (typeof source !== 'string' || !source.startsWith('.')) return
      const target = fromRoot(resolve(dirname(context.filename), source))
      const to = layerOf(target)
      if (to === undefined || to === from) return
      if (target !== `${to}/index.ts`) context.report({ node, messageId: 'throughIndex', data: { to } })
      else if (from !== undefined && allowed !== undefined && !allowed.includes(to)) {
        context.report({
          node,
          messageId: 'wrongWay',
          data: { from, to, allowed: allowed.length === 0 ? '(nothing)' : allowed.map((a) => `${a}/`).join(', ') }
        })
      }
    }
    return {
      ImportDeclaration: check,
      ExportNamedDeclaration: check,
      ExportAllDeclaration: check,
      ImportExpression: (node) => {
        if (node.source.type === 'Literal') check({ ...node, source: node.source })
      }
    }
  }
}

export const runnelPlugin = { rules: { layers } }
