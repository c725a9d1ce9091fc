/**
 * Reading the commerce outputs back from Kafka, as a downstream consumer would: each output topic to
 * its current end (committed records only), folded into the latest value per key (a tombstone
 * deletes the key). Tests compare them with the reference implementation.
 */
import type { CategoryRating, ProductRating, ProductSalesWindow, SchemaRegistryClient } from '../../schemas/index.ts'
import { readLatestOutputs, type LatestOutputs } from '../shared/index.ts'
import type { CommerceTopics } from './config.ts'
import { commerceSerdes } from './topology.ts'

/** The value types of the output topics, by role. */
export interface CommerceOutputValues {
  sales1h: ProductSalesWindow
  productRatings: ProductRating
  categoryRatings: CategoryRating
}

/** The three commerce outputs folded to the latest value per key (`latest.sales1h`...), with what was read. */
export type CommerceOutputs = LatestOutputs<CommerceOutputValues>

/** Reads `commerce.sales.1h`, `commerce.product-ratings` and `commerce.category-ratings` (or their configured names) to their end. */
export async function readCommerceOutputs(
  brokers: readonly string[],
  topics: Pick<CommerceTopics, keyof CommerceOutputValues>,
  registry: SchemaRegistryClient
): Promise<CommerceOutputs> {
  const serdes = commerceSerdes(registry)
  return readLatestOutputs<CommerceOutputValues>(brokers, {
    sales1h: { topic: topics.sales1h, serde: serdes.salesWindow },
    productRatings: { topic: topics.productRatings, serde: serdes.productRating },
    categoryRatings: { topic: topics.categoryRatings, serde: serdes.categoryRating }
  })
}
