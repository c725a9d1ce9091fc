/**
 * A deterministic model of roadside sensors, shared by the simulator, the tests and the reference:
 * the same options give the same records in the same order.
 *
 * Each sensor watches a straight road segment (its field of view, 60-100 m along x). Travelers of each
 * type arrive as Poisson processes, cross the segment on a lane or the sidewalk at a speed typical of
 * their type, and are observed about once a second with position noise. On top of that, optional
 * fractions of records are duplicated, delivered out of order (1-20 s later: within grace), delivered
 * late (95-300 s later: beyond the 1-minute window's grace), misclassified as UNKNOWN, or replaced
 * by malformed bytes; and some travelers are occluded for 31-40 s with one glimpse in the middle that
 * arrives after the occlusion (so two sessions form and are then merged by the late glimpse).
 */
import type { SensorObservation, TravelerType } from '../../schemas/index.ts'
import { checkCount, checkFraction, checkSeed, checkStartMs, Prng, TimeQueue } from '../shared/index.ts'

/** Options of the generator; counts are records, fractions are probabilities in [0, 1]. */
export interface TrafficGeneratorOptions {
  /** PRNG seed (uint32). */
  readonly seed: number
  /** Number of sensors, named `s-1` .. `s-N`. Default 20. */
  readonly sensors?: number
  /** Number of observation records to produce (duplicates and delayed ones included). */
  readonly observations: number
  /** Event time of the start of the simulation, epoch ms. */
  readonly startMs: number
  /** Records delivered 1-20 s after their event time among later ones. Default 0.01. */
  readonly outOfOrderFraction?: number
  /** Records delivered 95-300 s late. Default 0.001. */
  readonly lateFraction?: number
  /** Records sent twice in a row. Default 0.002. */
  readonly duplicateFraction?: number
  /** Extra records (not counted in `observations`) whose bytes are not valid Confluent Avro. Default 0.0005. */
  readonly malformedFraction?: number
  /** Observations classified UNKNOWN instead of the traveler's type. Default 0.01. */
  readonly unknownFraction?: number
  /** Travelers hidden for 31-40 s (one glimpse in the gap, delivered after it). Default 0.05. */
  readonly occlusionFraction?: number
}

/** How a malformed record is broken (the simulator turns a valid encoding into these bytes). */
export type MalformedVariant = 'json-text' | 'truncated' | 'trailing-bytes' | 'short-header'

/** One record as the simulator sends it, in send order. */
export type GeneratedRecord =
  | { readonly kind: 'observation'; readonly key: string; readonly value: SensorObservation }
  /** `value` is the observation whose valid encoding the simulator breaks. */
  | { readonly kind: 'malformed'; readonly key: string; readonly value: SensorObservation; readonly variant: MalformedVariant }

const MALFORMED_VARIANTS: readonly MalformedVariant[] = ['json-text', 'truncated', 'trailing-bytes', 'short-header']

/** Typical speed (m/s), its spread (log-normal sigma), and arrivals per second per sensor. */
const TRAVELER_MODEL: Readonly<Record<Exclude<TravelerType, 'UNKNOWN'>, { speedMps: number; sigma: number; arrivalsPerS: number; lanes: readonly number[] }>> =
  {
    PEDESTRIAN: { speedMps: 1.4, sigma: 0.15, arrivalsPerS: 0.05, lanes: [-9.5, 9.5] },
    BICYCLE: { speedMps: 5, sigma: 0.2, arrivalsPerS: 0.03, lanes: [-7, 7] },
    CAR: { speedMps: 12, sigma: 0.2, arrivalsPerS: 0.2, lanes: [-5.25, -1.75, 1.75, 5.25] },
    BUS: { speedMps: 9, sigma: 0.15, arrivalsPerS: 0.01, lanes: [-5.25, 5.25] },
    TRUCK: { speedMps: 10, sigma: 0.15, arrivalsPerS: 0.03, lanes: [-5.25, 5.25] }
  }
const MODEL_TYPES = Object.keys(TRAVELER_MODEL) as Array<keyof typeof TRAVELER_MODEL>

/** Typical speed of each traveler type, m/s (what the simulator draws around). */
export const TYPICAL_SPEED_MPS: Readonly<Record<Exclude<TravelerType, 'UNKNOWN'>, number>> = Object.fromEntries(
  MODEL_TYPES.map((t) => [t, TRAVELER_MODEL[t].speedMps])
) as Record<Exclude<TravelerType, 'UNKNOWN'>, number>

interface Sensor {
  readonly id: string
  readonly lengthM: number
  readonly intensity: number
  travelers: number
}

interface Pending {
  readonly value: SensorObservation
  readonly duplicate: boolean
}

function checkOptions(options: TrafficGeneratorOptions): Required<TrafficGeneratorOptions> {
  const { observations } = options
  if (!Number.isSafeInteger(observations) || observations < 0) throw new RangeError(`observations must be a non-negative integer, got ${String(observations)}`)
  return {
    seed: checkSeed(options.seed),
    observations,
    startMs: checkStartMs(options.startMs),
    sensors: checkCount('sensors', options.sensors, 20, 1, 100_000),
    outOfOrderFraction: checkFraction('outOfOrderFraction', options.outOfOrderFraction, 0.01),
    lateFraction: checkFraction('lateFraction', options.lateFraction, 0.001),
    duplicateFraction: checkFraction('duplicateFraction', options.duplicateFraction, 0.002),
    malformedFraction: checkFraction('malformedFraction', options.malformedFraction, 0.0005),
    unknownFraction: checkFraction('unknownFraction', options.unknownFraction, 0.01),
    occlusionFraction: checkFraction('occlusionFraction', options.occlusionFraction, 0.05)
  }
}

/** Observations per second of event time the model produces for `sensors` sensors (an estimate). */
export function estimatedObservationsPerSecond(sensors: number): number {
  let perSensor = 0
  // Mean segment length 80 m; one observation per second of visibility.
  for (const type of MODEL_TYPES) perSensor += TRAVELER_MODEL[type].arrivalsPerS * (80 / TRAVELER_MODEL[type].speedMps)
  return sensors * perSensor
}

/**
 * The records of a simulation, lazily, in send order. `observations` records of kind `observation`
 * are produced (plus malformed ones); memory stays proportional to the travelers in view.
 */
export function* trafficRecords(options: TrafficGeneratorOptions): Generator<GeneratedRecord> {
  const o = checkOptions(options)
  const rng = new Prng(o.seed)
  const sensors: Sensor[] = []
  for (let i = 1; i <= o.sensors; i++) {
    sensors.push({ id: `s-${i}`, lengthM: Math.round(rng.uniform(60, 100)), intensity: rng.uniform(0.5, 1.5), travelers: 0 })
  }
  // Next arrival per (sensor, type), and observations waiting for their delivery time.
  const arrivals = new TimeQueue<{ sensor: Sensor; type: keyof typeof TRAVELER_MODEL }>()
  for (const sensor of sensors) {
    for (const type of MODEL_TYPES) {
      arrivals.push(o.startMs + Math.round(1000 * rng.exponential(TRAVELER_MODEL[type].arrivalsPerS * sensor.intensity)), { sensor, type })
    }
  }
  const deliveries = new TimeQueue<Pending>()
  let produced = 0

  while (produced < o.observations) {
    const arrivalMs = arrivals.peekAt()
    // Everything due before the next arrival is final: later travelers only add later records.
    while (deliveries.size > 0 && deliveries.peekAt() < arrivalMs && produced < o.observations) {
      const pending = deliveries.pop() as Pending
      if (o.malformedFraction > 0 && rng.next() < o.malformedFraction) {
        yield { kind: 'malformed', key: pending.value.sensor_id, value: pending.value, variant: rng.pick(MALFORMED_VARIANTS) }
      }
      yield { kind: 'observation', key: pending.value.sensor_id, value: pending.value }
      produced++
      if (!pending.duplicate && produced < o.observations && o.duplicateFraction > 0 && rng.next() < o.duplicateFraction) {
        yield { kind: 'observation', key: pending.value.sensor_id, value: { ...pending.value } }
        produced++
      }
    }
    if (produced >= o.observations) break
    const { sensor, type } = arrivals.pop() as { sensor: Sensor; type: keyof typeof TRAVELER_MODEL }
    const model = TRAVELER_MODEL[type]
    arrivals.push(arrivalMs + Math.max(1, Math.round(1000 * rng.exponential(model.arrivalsPerS * sensor.intensity))), { sensor, type })
    for (const { value, delayMs } of crossing(rng, o, sensor, type, arrivalMs)) {
      deliveries.push(value.timestamp + delayMs, { value, duplicate: false })
    }
  }
}

/** All records of a simulation as an array (for tests and the reference). */
export function generateTrafficRecords(options: TrafficGeneratorOptions): GeneratedRecord[] {
  return [...trafficRecords(options)]
}

/** The valid observations of a simulation, in send order. */
export function generateObservations(options: TrafficGeneratorOptions): SensorObservation[] {
  const out: SensorObservation[] = []
  for (const record of trafficRecords(options)) if (record.kind === 'observation') out.push(record.value)
  return out
}

/** One traveler crossing a sensor's segment: its observations with their delivery delays. */
function crossing(
  rng: Prng,
  o: Required<TrafficGeneratorOptions>,
  sensor: Sensor,
  type: keyof typeof TRAVELER_MODEL,
  arrivalMs: number
): Array<{ value: SensorObservation; delayMs: number }> {
  const model = TRAVELER_MODEL[type]
  sensor.travelers++
  const travelerId = `${type.toLowerCase()}-${sensor.travelers}`
  const speed = model.speedMps * Math.exp(model.sigma * rng.gaussian())
  const lane = rng.pick(model.lanes)
  // Positive lanes drive towards +x, negative ones towards -x.
  const direction = lane > 0 ? 1 : -1
  const x0 = direction > 0 ? 0 : sensor.lengthM
  const wander = rng.uniform(-0.3, 0.3)
  const times: number[] = []
  const lastMs = arrivalMs + (sensor.lengthM / speed) * 1000
  for (let t = arrivalMs + Math.floor(rng.uniform(0, 1000)); t <= lastMs; t += Math.round(rng.uniform(900, 1100))) times.push(t)

  // An occlusion hides the traveler for 31-40 s; one glimpse in the middle arrives after it.
  let hideFrom = Infinity
  let hideTo = -Infinity
  let glimpseMs = -1
  const first = times[0]
  const last = times[times.length - 1]
  if (first !== undefined && last !== undefined && o.occlusionFraction > 0 && rng.next() < o.occlusionFraction) {
    const gapMs = Math.round(rng.uniform(31_000, 40_000))
    if (last - first > gapMs + 6_000) {
      hideFrom = Math.round(rng.uniform(first + 3_000, last - gapMs - 3_000))
      hideTo = hideFrom + gapMs
      glimpseMs = Math.round(hideFrom + gapMs / 2)
    }
  }

  const out: Array<{ value: SensorObservation; delayMs: number }> = []
  const observe = (t: number, delayMs: number): void => {
    const travelled = (speed * (t - arrivalMs)) / 1000
    out.push({
      value: {
        sensor_id: sensor.id,
        traveler_id: travelerId,
        traveler_type: o.unknownFraction > 0 && rng.next() < o.unknownFraction ? 'UNKNOWN' : type,
        x: round3(x0 + direction * travelled + 0.25 * rng.gaussian()),
        y: round3(lane + wander + 0.25 * rng.gaussian()),
        timestamp: t
      },
      delayMs
    })
  }
  for (const t of times) {
    if (t >= hideFrom && t < hideTo) continue
    let delayMs = 0
    const draw = rng.next()
    if (draw < o.lateFraction) delayMs = Math.round(rng.uniform(95_000, 300_000))
    else if (draw < o.lateFraction + o.outOfOrderFraction) delayMs = Math.round(rng.uniform(1_000, 20_000))
    observe(t, delayMs)
  }
  if (glimpseMs >= 0) observe(glimpseMs, hideTo - glimpseMs + Math.round(rng.uniform(1_000, 8_000)))
  return out
}

function round3(v: number): number {
  return Math.round(v * 1000) / 1000
}

/** Bytes that are not valid Confluent Avro, made from a valid encoding (`validBytes`) of the record. */
export function malformedBytes(variant: MalformedVariant, validBytes: Buffer, value: SensorObservation): Buffer {
  switch (variant) {
    case 'json-text':
      // A producer that forgot the serializer: byte 0 is '{', not the magic byte.
      return Buffer.from(JSON.stringify(value), 'utf8')
    case 'truncated':
      return validBytes.subarray(0, Math.max(6, Math.floor(validBytes.length / 2)))
    case 'trailing-bytes':
      return Buffer.concat([validBytes, Buffer.from([0xde, 0xad, 0xbe, 0xef])])
    case 'short-header':
      return validBytes.subarray(0, 3)
  }
}
