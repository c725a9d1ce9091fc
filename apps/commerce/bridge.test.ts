import { afterEach, describe, expect, it } from 'vitest'
import { DeadLetterHeaders } from '../../schemas/index.ts'
import { bridgeEvent, BridgeErrorCodes, type BridgeErrorCode } from './bridge.ts'
import { DEAD_LETTER_FIELD_HEADER } from './dead-letters.ts'
import { commerceHarness, type CommerceHarness } from './test-support.ts'

const T = 1_763_726_400_000
let harness: CommerceHarness | undefined

afterEach(async () => {
  await harness?.close()
  harness = undefined
})

const sold = { event_name: 'productSold', name_of_product: 'Product A', product_id: 3, no_of_units: 20, amount: 2000 }
const rated = { event_name: 'productRated', name_of_product: 'Product X', product_id: 1, rating: 4, category: 'Software' }

/** Every kind of invalid event, with the reason the bridge must give. */
const INVALID: ReadonlyArray<{ name: string; value: unknown; code: BridgeErrorCode; field?: string; message: RegExp }> = [
  { name: 'text that is not JSON', value: '{"event_name": "productSold",', code: BridgeErrorCodes.NOT_JSON, message: /not JSON/ },
  { name: 'bytes that are not UTF-8 JSON', value: Buffer.from([0, 0, 0, 0, 1, 2]), code: BridgeErrorCodes.NOT_JSON, message: /not JSON/ },
  {
    name: 'JSON whose bytes are not valid UTF-8',
    value: Buffer.concat([Buffer.from('{"event_name":"productSold","name_of_product":"'), Buffer.from([0xff]), Buffer.from('"}')]),
    code: BridgeErrorCodes.NOT_JSON,
    message: /not JSON/
  },
  { name: 'a record without a value', value: null, code: BridgeErrorCodes.NOT_JSON, message: /no value/ },
  { name: 'a JSON array', value: '[1,2]', code: BridgeErrorCodes.NOT_OBJECT, message: /an array/ },
  { name: 'a JSON string', value: '"productSold"', code: BridgeErrorCodes.NOT_OBJECT, message: /JSON object/ },
  {
    name: 'an unknown event',
    value: { ...sold, event_name: 'productReturned' },
    code: BridgeErrorCodes.UNKNOWN_EVENT,
    field: 'event_name',
    message: /productReturned/
  },
  {
    name: 'an event name in the wrong case',
    value: { ...sold, event_name: 'ProductSold' },
    code: BridgeErrorCodes.UNKNOWN_EVENT,
    field: 'event_name',
    message: /ProductSold/
  },
  {
    name: 'no discriminator',
    value: { product_id: 3, name_of_product: 'A', no_of_units: 1, amount: 1 },
    code: BridgeErrorCodes.MISSING_FIELD,
    field: 'event_name',
    message: /event_name/
  },
  {
    name: 'a discriminator that is not a string',
    value: { ...sold, event_name: 7 },
    code: BridgeErrorCodes.INVALID_FIELD,
    field: 'event_name',
    message: /event_name/
  },
  {
    name: 'event and event_name that disagree',
    value: { ...sold, event: 'productRated' },
    code: BridgeErrorCodes.INVALID_FIELD,
    field: 'event',
    message: /event/
  },
  {
    name: 'a sale without product_id',
    value: { ...sold, product_id: undefined },
    code: BridgeErrorCodes.MISSING_FIELD,
    field: 'product_id',
    message: /product_id/
  },
  { name: 'a null product_id', value: { ...sold, product_id: null }, code: BridgeErrorCodes.MISSING_FIELD, field: 'product_id', message: /product_id/ },
  {
    name: 'a product_id given as a string',
    value: { ...rated, product_id: '1' },
    code: BridgeErrorCodes.INVALID_FIELD,
    field: 'product_id',
    message: /product_id/
  },
  { name: 'a negative product_id', value: { ...rated, product_id: -1 }, code: BridgeErrorCodes.INVALID_FIELD, field: 'product_id', message: /product_id/ },
  { name: 'a fractional product_id', value: { ...sold, product_id: 3.5 }, code: BridgeErrorCodes.INVALID_FIELD, field: 'product_id', message: /product_id/ },
  {
    name: 'a sale without name_of_product',
    value: { ...sold, name_of_product: undefined },
    code: BridgeErrorCodes.MISSING_FIELD,
    field: 'name_of_product',
    message: /name_of_product/
  },
  {
    name: 'a numeric name_of_product',
    value: { ...rated, name_of_product: 5 },
    code: BridgeErrorCodes.INVALID_FIELD,
    field: 'name_of_product',
    message: /name_of_product/
  },
  {
    name: 'a sale without no_of_units',
    value: { ...sold, no_of_units: undefined },
    code: BridgeErrorCodes.MISSING_FIELD,
    field: 'no_of_units',
    message: /no_of_units/
  },
  { name: 'zero units', value: { ...sold, no_of_units: 0 }, code: BridgeErrorCodes.INVALID_FIELD, field: 'no_of_units', message: /no_of_units/ },
  { name: 'units as a string', value: { ...sold, no_of_units: '10' }, code: BridgeErrorCodes.INVALID_FIELD, field: 'no_of_units', message: /no_of_units/ },
  {
    name: 'units beyond an Avro int',
    value: { ...sold, no_of_units: 2 ** 31 },
    code: BridgeErrorCodes.INVALID_FIELD,
    field: 'no_of_units',
    message: /no_of_units/
  },
  { name: 'a sale without amount', value: { ...sold, amount: undefined }, code: BridgeErrorCodes.MISSING_FIELD, field: 'amount', message: /amount/ },
  { name: 'an amount that is a boolean', value: { ...sold, amount: true }, code: BridgeErrorCodes.INVALID_FIELD, field: 'amount', message: /amount/ },
  { name: 'a negative amount', value: { ...sold, amount: -0.01 }, code: BridgeErrorCodes.NEGATIVE_AMOUNT, field: 'amount', message: /negative/ },
  { name: 'a negative amount string', value: { ...sold, amount: '-25' }, code: BridgeErrorCodes.NEGATIVE_AMOUNT, field: 'amount', message: /negative/ },
  { name: 'a non-numeric amount string', value: { ...sold, amount: '25 EUR' }, code: BridgeErrorCodes.NON_NUMERIC_AMOUNT, field: 'amount', message: /25 EUR/ },
  { name: 'an empty amount string', value: { ...sold, amount: '' }, code: BridgeErrorCodes.NON_NUMERIC_AMOUNT, field: 'amount', message: /not a number/ },
  { name: 'a rating without rating', value: { ...rated, rating: undefined }, code: BridgeErrorCodes.MISSING_FIELD, field: 'rating', message: /rating/ },
  { name: 'a rating of 0', value: { ...rated, rating: 0 }, code: BridgeErrorCodes.RATING_OUT_OF_RANGE, field: 'rating', message: /1 to 5, got 0/ },
  { name: 'a rating of 6', value: { ...rated, rating: 6 }, code: BridgeErrorCodes.RATING_OUT_OF_RANGE, field: 'rating', message: /1 to 5, got 6/ },
  { name: 'a fractional rating', value: { ...rated, rating: 4.5 }, code: BridgeErrorCodes.INVALID_FIELD, field: 'rating', message: /rating/ },
  { name: 'a rating given as a string', value: { ...rated, rating: '4' }, code: BridgeErrorCodes.INVALID_FIELD, field: 'rating', message: /rating/ },
  { name: 'a rating without category', value: { ...rated, category: undefined }, code: BridgeErrorCodes.MISSING_FIELD, field: 'category', message: /category/ },
  { name: 'a blank category', value: { ...rated, category: '  ' }, code: BridgeErrorCodes.INVALID_FIELD, field: 'category', message: /category/ }
]

/** The bytes of a table value: objects as JSON, strings as UTF-8, buffers and null as they are. */
function bytesOf(value: unknown): Buffer | null {
  if (value === null || Buffer.isBuffer(value)) return value
  return Buffer.from(typeof value === 'string' ? value : JSON.stringify(value), 'utf8')
}

describe('commerce bridge: validation', () => {
  it('accepts the seed README events exactly as published, with event or event_name and a numeric or string amount', () => {
    expect(bridgeEvent(Buffer.from(JSON.stringify(sold)), T)).toEqual({
      kind: 'sold',
      event: { product_id: 3, product_name: 'Product A', units: 20, amount_cents: 200_000, timestamp: T }
    })
    expect(bridgeEvent(Buffer.from(JSON.stringify(rated)), T)).toEqual({
      kind: 'rated',
      event: { product_id: 1, product_name: 'Product X', rating: 4, category: 'Software', timestamp: T }
    })
    // The seed's design document spells the discriminator `event` and the amount as a string.
    const design = { event: 'productSold', name_of_product: 'product A', product_id: 233, no_of_units: 10, amount: '2500' }
    expect(bridgeEvent(Buffer.from(JSON.stringify(design)), T)).toMatchObject({ kind: 'sold', event: { product_id: 233, amount_cents: 250_000 } })
    expect(bridgeEvent(Buffer.from(JSON.stringify({ ...rated, event_name: undefined, event: 'productRated', category: 'F' })), T)).toMatchObject({
      kind: 'rated',
      event: { category: 'F' }
    })
  })

  it('converts amounts to cents with Math.round(amount * 100), accepting exponent notation, spaces and zero', () => {
    const cents = (amount: unknown): unknown => {
      const result = bridgeEvent(Buffer.from(JSON.stringify({ ...sold, amount })), T)
      return result.kind === 'sold' ? result.event.amount_cents : result
    }
    expect(cents(19.99)).toBe(1999)
    expect(cents('19.99')).toBe(1999)
    expect(cents(' 1e3 ')).toBe(100_000)
    expect(cents('.5')).toBe(50)
    expect(cents(0.125)).toBe(13)
    expect(cents(0)).toBe(0)
    expect(cents('-0')).toBe(0)
    expect(Object.is(cents('-0'), -0)).toBe(false)
  })

  it.each(INVALID)('rejects $name with $code', ({ value, code, field, message }) => {
    const result = bridgeEvent(bytesOf(value), T)
    expect(result.kind).toBe('invalid')
    if (result.kind !== 'invalid') return
    expect(result.rejection.code).toBe(code)
    expect(result.rejection.field).toBe(field)
    expect(result.rejection.message).toMatch(message)
  })
})

describe('commerce bridge: topology', () => {
  it('sends every invalid kind to analytics.dlq with its bytes and reason headers, while valid events in between come out typed', async () => {
    harness = await commerceHarness({ topology: { analytics: false } })
    const h = harness
    const expectedSold: number[] = []
    INVALID.forEach((c, i) => {
      h.sendAnalytics({ ...sold, product_id: i, amount: `${i}.25` }, T + 2 * i)
      expectedSold.push(i)
      h.sendAnalytics(c.value, T + 2 * i + 1, { key: `bad-${i}`, headers: { origin: Buffer.from('seed') } })
    })
    h.sendAnalytics(rated, T + 1000)

    const letters = h.rawRecords(h.settings.topics.analyticsDlq)
    expect(letters).toHaveLength(INVALID.length)
    const offsets = new Map<number, number>()
    INVALID.forEach((c, i) => {
      const letter = letters[i]
      expect(letter, c.name).toBeDefined()
      if (letter === undefined) return
      expect(letter.key).toBe(`bad-${i}`)
      // The original bytes, untouched.
      expect(h.driver.readTopic('analytics.dlq')[i]?.value, c.name).toEqual(bytesOf(c.value))
      expect(letter.timestampMs).toBe(T + 2 * i + 1)
      expect(letter.headers[DeadLetterHeaders.ERROR_CODE], c.name).toBe(c.code)
      expect(letter.headers[DeadLetterHeaders.ERROR_MESSAGE], c.name).toMatch(c.message)
      expect(letter.headers[DEAD_LETTER_FIELD_HEADER], c.name).toBe(c.field)
      expect(letter.headers[DeadLetterHeaders.ERROR_PART]).toBe('value')
      expect(letter.headers[DeadLetterHeaders.TOPIC]).toBe('analytics')
      expect(letter.headers.origin).toBe('seed')
      // The source position names the record: offsets grow by one per analytics record of the partition.
      const partition = Number(letter.headers[DeadLetterHeaders.PARTITION])
      const offset = Number(letter.headers[DeadLetterHeaders.OFFSET])
      expect(offset).toBeGreaterThan(offsets.get(partition) ?? -1)
      offsets.set(partition, offset)
    })
    const analytics = h.driver.readTopic('analytics')
    for (const letter of letters) {
      const partition = Number(letter.headers[DeadLetterHeaders.PARTITION])
      const source = analytics.find((r) => r.partition === partition && r.offset === Number(letter.headers[DeadLetterHeaders.OFFSET]))
      expect(source?.key?.toString('utf8')).toBe(letter.key)
    }

    const typedSold = h.typed('productSold')
    expect(typedSold.map((e) => e.product_id).sort((a, b) => a - b)).toEqual(expectedSold)
    expect(typedSold.find((e) => e.product_id === 7)).toEqual({ product_id: 7, product_name: 'Product A', units: 20, amount_cents: 725, timestamp: T + 14 })
    expect(h.typed('productRated')).toEqual([{ product_id: 1, product_name: 'Product X', rating: 4, category: 'Software', timestamp: T + 1000 }])
    // Keyed by product id, so a product's events share a partition downstream.
    const soldRecords = h.driver.readTopic(h.settings.topics.productSold)
    for (const r of soldRecords) {
      const event = h.serdes.productSold.deserialize('commerce.product-sold', r.value as Buffer)
      expect(r.key?.toString('utf8')).toBe(String(event.product_id))
      expect(r.timestampMs).toBe(event.timestamp)
    }
  })

  it('feeds the analytics in the same topology: bridged events reach the sales windows and ratings', async () => {
    harness = await commerceHarness()
    const h = harness
    h.sendAnalytics(sold, T + 5_000)
    h.sendAnalytics({ ...sold, no_of_units: 10, amount: 1000 }, T + 6_000)
    h.sendAnalytics({ ...rated, rating: 4 }, T + 7_000)
    h.sendAnalytics({ ...rated, event_name: undefined, event: 'productRated', rating: 5 }, T + 8_000)
    h.sendAnalytics({ ...rated, rating: 9 }, T + 9_000)
    expect(h.latest('sales1h').get(`3|${T}`)).toEqual({
      product_id: 3,
      window_start: T,
      window_end: T + 3_600_000,
      orders: 2,
      units: 30,
      amount_cents: 300_000
    })
    expect(h.latest('productRatings').get('1')).toEqual({
      product_id: 1,
      product_name: 'Product X',
      category: 'Software',
      count: 2,
      sum: 9,
      average: 4.5,
      histogram: [0, 0, 0, 1, 1]
    })
    expect(h.latest('categoryRatings').get('Software')).toMatchObject({ count: 2, average: 4.5 })
    expect(h.rawRecords('analytics.dlq').map((r) => r.headers[DeadLetterHeaders.ERROR_CODE])).toEqual([BridgeErrorCodes.RATING_OUT_OF_RANGE])
  })
})
