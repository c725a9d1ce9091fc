/**
 * Documentation tables made from an options schema (a zod object whose fields carry a `.describe()`
 * doc and, where the default is derived or not printable, `defaultText` metadata), so that README
 * and `--help` tables are rendered from the one declaration instead of written again by hand.
 */
import type { z } from 'zod'

/** One option as the documentation shows it. */
export interface OptionDoc {
  readonly option: string
  /** The default as text: the schema's default value, its `defaultText`, or `(required)`. */
  readonly defaultText: string
  readonly doc: string
}

function shownDefault(field: z.ZodType): string {
  const meta = field.meta()
  if (typeof meta?.defaultText === 'string') return meta.defaultText
  // Parsing "absent" gives the default without reaching into zod's internals.
  const absent = field.safeParse(undefined)
  if (!absent.success) return '(required)'
  if (absent.data === undefined) return '(none)'
  return typeof absent.data === 'string' ? `\`${absent.data}\`` : JSON.stringify(absent.data)
}

/** The options of `schema` in declaration order, with their defaults and docs. */
export function optionDocs(schema: z.ZodObject): OptionDoc[] {
  return Object.entries(schema.shape).map(([option, field]) => ({
    option,
    defaultText: shownDefault(field),
    doc: field.description ?? ''
  }))
}

/** A Markdown table: `header` and `rows` are cells (a `|` inside a cell is escaped). */
export function markdownTable(header: readonly string[], rows: ReadonlyArray<readonly string[]>): string[] {
  const line = (cells: readonly string[]): string => `| ${cells.map((c) => c.replaceAll('|', '\\|')).join(' | ')} |`
  return [line(header), `|${header.map(() => '---').join('|')}|`, ...rows.map(line)]
}

/**
 * The table that starts with the line `headerLine` in `markdown` (that line and the `|` lines after
 * it); empty when there is none. Tests compare it with the table rendered from the schema.
 */
export function tableIn(markdown: string, headerLine: string): string[] {
  const lines = markdown.split('\n')
  const start = lines.indexOf(headerLine)
  if (start < 0) return []
  const end = lines.findIndex((l, i) => i > start && !l.startsWith('|'))
  return lines.slice(start, end < 0 ? lines.length : end)
}
