/**
 * Window definitions, as Kafka Streams defines them. All times are epoch milliseconds; time windows
 * are aligned to the epoch and half-open `[start, end)`; sliding and session windows are closed `[start, end]`.
 */
import { InvalidOptionError } from './errors.ts'

function checkDuration(option: string, value: number, allowZero: boolean): void {
  if (!Number.isSafeInteger(value) || value < 0 || (!allowZero && value === 0)) {
    throw new InvalidOptionError(option, `must be a ${allowZero ? 'non-negative' : 'positive'} integer number of ms, got ${value}`)
  }
}

/**
 * Tumbling (advance = size) or hopping (advance < size) windows of `sizeMs`. A window closes when
 * stream time >= window end + `graceMs`; later records for it are dropped and counted.
 */
export class TimeWindows {
  readonly sizeMs: number
  readonly advanceMs: number
  readonly graceMs: number
  private constructor(sizeMs: number, advanceMs: number, graceMs: number) {
    checkDuration('sizeMs', sizeMs, false)
    checkDuration('advanceMs', advanceMs, false)
    checkDuration('graceMs', graceMs, true)
    if (advanceMs > sizeMs) throw new InvalidOptionError('advanceMs', `must not exceed sizeMs (${sizeMs}), got ${advanceMs}`)
    this.sizeMs = sizeMs
    this.advanceMs = advanceMs
    this.graceMs = graceMs
  }
  /** Tumbling windows of `sizeMs` with no grace. */
  static ofSizeWithNoGrace(sizeMs: number): TimeWindows {
    return new TimeWindows(sizeMs, sizeMs, 0)
  }
  /** Tumbling windows of `sizeMs` that accept out-of-order records for `graceMs` after their end. */
  static ofSizeAndGrace(sizeMs: number, graceMs: number): TimeWindows {
    return new TimeWindows(sizeMs, sizeMs, graceMs)
  }
  /** Hopping windows: a new window starts every `advanceMs`. */
  advanceBy(advanceMs: number): TimeWindows {
    return new TimeWindows(this.sizeMs, advanceMs, this.graceMs)
  }
  /** Starts of the windows containing `timestampMs`, ascending (Kafka's `TimeWindows.windowsFor`). */
  windowStartsFor(timestampMs: number): number[] {
    const starts: number[] = []
    let start = Math.floor(Math.max(0, timestampMs - this.sizeMs + this.advanceMs) / this.advanceMs) * this.advanceMs
    while (start <= timestampMs) {
      starts.push(start)
      start += this.advanceMs
    }
    return starts
  }
  /** How long a window store must keep windows: size + grace. */
  get minimumRetentionMs(): number {
    return this.sizeMs + this.graceMs
  }
}

/**
 * Sliding windows (Kafka Streams' `SlidingWindows`, KIP-450): windows of `timeDifferenceMs` whose
 * bounds follow the records. Each record at t has a left window `[t - timeDifferenceMs, t]` and, once
 * a later record falls within `timeDifferenceMs` after it, a right window `[t + 1, t + 1 + timeDifferenceMs]`;
 * both ends are inclusive, so two records are in a common window when their timestamps differ by at most
 * `timeDifferenceMs`. Windowed keys carry `endMs = startMs + timeDifferenceMs` (inclusive). A window
 * closes when stream time > window end + `graceMs` (one ms later than a time window ending at the same
 * time, because the end is part of the window). Records before `timeDifferenceMs` share the window
 * `[0, timeDifferenceMs]`: windows never start before the epoch.
 */
export class SlidingWindows {
  readonly timeDifferenceMs: number
  readonly graceMs: number
  private constructor(timeDifferenceMs: number, graceMs: number) {
    // A store window of 0 ms cannot be keyed; Kafka Streams accepts 0, Runnel asks for at least 1 ms.
    checkDuration('timeDifferenceMs', timeDifferenceMs, false)
    checkDuration('graceMs', graceMs, true)
    this.timeDifferenceMs = timeDifferenceMs
    this.graceMs = graceMs
  }
  /** Sliding windows of `timeDifferenceMs` (> 0) that drop records as soon as their windows end. */
  static ofTimeDifferenceWithNoGrace(timeDifferenceMs: number): SlidingWindows {
    return new SlidingWindows(timeDifferenceMs, 0)
  }
  /** Sliding windows of `timeDifferenceMs` that accept out-of-order records for `graceMs` after a window's end. */
  static ofTimeDifferenceAndGrace(timeDifferenceMs: number, graceMs: number): SlidingWindows {
    return new SlidingWindows(timeDifferenceMs, graceMs)
  }
  /**
   * How long the store must keep windows: 2 x time difference + grace. A record may need the
   * window that starts 2 x time difference before it (to find the previous record and its right window).
   */
  get minimumRetentionMs(): number {
    return 2 * this.timeDifferenceMs + this.graceMs
  }
}

/**
 * Session windows: records of a key at most `gapMs` apart (inclusive, as Kafka Streams) belong to
 * one session. A session closes when stream time > session end + `graceMs`.
 */
export class SessionWindows {
  readonly gapMs: number
  readonly graceMs: number
  private constructor(gapMs: number, graceMs: number) {
    checkDuration('gapMs', gapMs, false)
    checkDuration('graceMs', graceMs, true)
    this.gapMs = gapMs
    this.graceMs = graceMs
  }
  static ofInactivityGapWithNoGrace(gapMs: number): SessionWindows {
    return new SessionWindows(gapMs, 0)
  }
  static ofInactivityGapAndGrace(gapMs: number, graceMs: number): SessionWindows {
    return new SessionWindows(gapMs, graceMs)
  }
  get minimumRetentionMs(): number {
    return this.gapMs + this.graceMs
  }
}

/**
 * Stream-stream join windows: a left record at `t` joins right records in `[t - beforeMs, t + afterMs]`.
 * Left/outer non-matches are emitted once the window closed (stream time >= t + afterMs + graceMs).
 */
export class JoinWindows {
  readonly beforeMs: number
  readonly afterMs: number
  readonly graceMs: number
  private constructor(beforeMs: number, afterMs: number, graceMs: number) {
    checkDuration('beforeMs', beforeMs, true)
    checkDuration('afterMs', afterMs, true)
    checkDuration('graceMs', graceMs, true)
    this.beforeMs = beforeMs
    this.afterMs = afterMs
    this.graceMs = graceMs
  }
  /** Records join when their timestamps differ by at most `timeDifferenceMs`; no grace. */
  static ofTimeDifferenceWithNoGrace(timeDifferenceMs: number): JoinWindows {
    return new JoinWindows(timeDifferenceMs, timeDifferenceMs, 0)
  }
  static ofTimeDifferenceAndGrace(timeDifferenceMs: number, graceMs: number): JoinWindows {
    return new JoinWindows(timeDifferenceMs, timeDifferenceMs, graceMs)
  }
  /** Only right records at most `beforeMs` older than the left one join. */
  before(beforeMs: number): JoinWindows {
    return new JoinWindows(beforeMs, this.afterMs, this.graceMs)
  }
  /** Only right records at most `afterMs` newer than the left one join. */
  after(afterMs: number): JoinWindows {
    return new JoinWindows(this.beforeMs, afterMs, this.graceMs)
  }
  get sizeMs(): number {
    return this.beforeMs + this.afterMs
  }
}
