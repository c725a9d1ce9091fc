/**
 * The materialized `commerce.sales.1h`: per product, its 1-hour windows (hopping every minute) by
 * window start, held twice: by product (a product's series over time) and by window start (every
 * product's sales in one window, for the top list). Also remembers each product it has seen, so a
 * product stays known after its windows were deleted or dropped for retention.
 */

/** Sales of one product in one 1-hour window (`commerce.sales.1h`'s value without its key). */
export interface SalesFigures {
  /** Sales whose timestamp is in the window. */
  readonly orders: number
  /** Units of those sales. */
  readonly units: number
  /** Total amount of those sales, cents. */
  readonly amountCents: number
}

/** The figures of a window without sales (a missing key reads as zero). */
export const NO_SALES: SalesFigures = Object.freeze({ orders: 0, units: 0, amountCents: 0 })

/** Windows of `commerce.sales.1h` by product and by window start. */
export class SalesIndex {
  /** product id -> window start -> figures. */
  private readonly byProduct = new Map<number, Map<number, SalesFigures>>()
  /** window start -> product id -> figures. */
  private readonly byStart = new Map<number, Map<number, SalesFigures>>()
  private readonly seen = new Set<number>()
  private size_ = 0
  private latestStart = Number.NEGATIVE_INFINITY

  /** Windows held. */
  get size(): number {
    return this.size_
  }

  /** Sets (or, with null, deletes) the window of `productId` starting at `windowStartMs`. */
  put(productId: number, windowStartMs: number, figures: SalesFigures | null): void {
    this.seen.add(productId)
    const windows = this.byProduct.get(productId)
    const had = windows?.has(windowStartMs) === true
    if (figures === null) {
      if (!had) return
      windows?.delete(windowStartMs)
      if (windows?.size === 0) this.byProduct.delete(productId)
      const products = this.byStart.get(windowStartMs)
      products?.delete(productId)
      if (products?.size === 0) this.byStart.delete(windowStartMs)
      this.size_--
      return
    }
    const value: SalesFigures = { orders: figures.orders, units: figures.units, amountCents: figures.amountCents }
    if (windows === undefined) this.byProduct.set(productId, new Map([[windowStartMs, value]]))
    else windows.set(windowStartMs, value)
    const products = this.byStart.get(windowStartMs)
    if (products === undefined) this.byStart.set(windowStartMs, new Map([[productId, value]]))
    else products.set(productId, value)
    if (!had) this.size_++
    if (windowStartMs > this.latestStart) this.latestStart = windowStartMs
  }

  /** The window of `productId` starting at `windowStartMs`, or undefined when there is none. */
  get(productId: number, windowStartMs: number): SalesFigures | undefined {
    return this.byProduct.get(productId)?.get(windowStartMs)
  }

  /** Every product with a window starting at `windowStartMs`, with its figures (no order). */
  productsAt(windowStartMs: number): ReadonlyMap<number, SalesFigures> {
    return this.byStart.get(windowStartMs) ?? new Map()
  }

  /** Whether any window of `productId` was ever put (deleted and dropped ones included). */
  hasSeen(productId: number): boolean {
    return this.seen.has(productId)
  }

  /** Every product ever put, in the order first seen. */
  seenProducts(): IterableIterator<number> {
    return this.seen.values()
  }

  /** The latest window start held or ever put, epoch ms; null before the first window. */
  get latestWindowStart(): number | null {
    return Number.isFinite(this.latestStart) ? this.latestStart : null
  }

  /** Drops every window starting before `cutoffMs` (products stay known); returns how many. */
  deleteBefore(cutoffMs: number): number {
    let deleted = 0
    for (const [start, products] of this.byStart) {
      if (start >= cutoffMs) continue
      for (const productId of products.keys()) {
        const windows = this.byProduct.get(productId)
        windows?.delete(start)
        if (windows?.size === 0) this.byProduct.delete(productId)
      }
      deleted += products.size
      this.byStart.delete(start)
    }
    this.size_ -= deleted
    return deleted
  }
}
