/**
 * The materialized `commerce.product-ratings` and `commerce.category-ratings`: the latest all-time
 * ratings per product and per category, with their 1-5 star histograms. Also remembers each product
 * it has seen, so a product stays known after a tombstone.
 */

/** Ratings of 1 star .. 5 stars (index 0 is 1 star). */
export type StarHistogram = readonly [number, number, number, number, number]

/** Count, sum, average and histogram of a set of ratings. */
export interface RatingFigures {
  /** Number of ratings. */
  readonly count: number
  /** Sum of their stars. */
  readonly sum: number
  /** `sum / count`. */
  readonly average: number
  readonly histogram: StarHistogram
}

/** All-time ratings of one product (`commerce.product-ratings`). */
export interface ProductRatingView extends RatingFigures {
  readonly productId: number
  /** As given by the product's most recent rating. */
  readonly productName: string
  /** As given by the product's most recent rating. */
  readonly category: string
}

/** All-time ratings of one category (`commerce.category-ratings`): the sum over its products. */
export interface CategoryRatingView extends RatingFigures {
  readonly category: string
}

/** Latest ratings per product and per category. */
export class RatingsIndex {
  private readonly products_ = new Map<number, ProductRatingView>()
  private readonly categories_ = new Map<string, CategoryRatingView>()
  private readonly seen = new Set<number>()

  /** Products with ratings. */
  get productCount(): number {
    return this.products_.size
  }

  /** Categories with ratings. */
  get categoryCount(): number {
    return this.categories_.size
  }

  /** Sets (or, with null, deletes) the ratings of `productId`. */
  putProduct(productId: number, view: ProductRatingView | null): void {
    this.seen.add(productId)
    if (view === null) this.products_.delete(productId)
    else this.products_.set(productId, view)
  }

  /** Sets (or, with null, deletes) the ratings of `category`. */
  putCategory(category: string, view: CategoryRatingView | null): void {
    if (view === null) this.categories_.delete(category)
    else this.categories_.set(category, view)
  }

  /** The ratings of `productId`, or undefined when it has none. */
  product(productId: number): ProductRatingView | undefined {
    return this.products_.get(productId)
  }

  /** The ratings of `category`, or undefined when it has none. */
  category(category: string): CategoryRatingView | undefined {
    return this.categories_.get(category)
  }

  /** Every product with ratings (no order). */
  products(): IterableIterator<ProductRatingView> {
    return this.products_.values()
  }

  /** Every category with ratings (no order). */
  categories(): IterableIterator<CategoryRatingView> {
    return this.categories_.values()
  }

  /** Whether ratings of `productId` were ever put (a tombstone included). */
  hasSeen(productId: number): boolean {
    return this.seen.has(productId)
  }

  /** Every product ever put, in the order first seen. */
  seenProducts(): IterableIterator<number> {
    return this.seen.values()
  }
}
