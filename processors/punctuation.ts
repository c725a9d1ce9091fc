/**
 * Scheduled punctuations of a task, one queue per punctuation type (Kafka Streams' PunctuationQueue).
 */
import type { Cancellable, Punctuator } from './api.ts'

/** One schedule: fires at `nextMs`, then every `intervalMs`. */
export interface PunctuationSchedule extends Cancellable {
  readonly nodeName: string
  readonly intervalMs: number
  readonly punctuator: Punctuator
  nextMs: number
  cancelled: boolean
}

export class PunctuationQueue {
  private schedules: PunctuationSchedule[] = []

  add(nodeName: string, firstMs: number, intervalMs: number, punctuator: Punctuator): PunctuationSchedule {
    const schedule: PunctuationSchedule = {
      nodeName,
      intervalMs,
      punctuator,
      nextMs: firstMs,
      cancelled: false,
      cancel() {
        schedule.cancelled = true
      }
    }
    this.schedules.push(schedule)
    return schedule
  }

  /**
   * Runs every schedule due at `nowMs` once (missed intervals are skipped, as in Kafka Streams) and
   * moves it to the next multiple of its interval after `nowMs`. Returns whether any punctuator ran.
   */
  mayPunctuate(nowMs: number, run: (schedule: PunctuationSchedule, timestampMs: number) => void): boolean {
    let punctuated = false
    this.schedules = this.schedules.filter((s) => !s.cancelled)
    for (const schedule of [...this.schedules]) {
      if (schedule.cancelled || nowMs < schedule.nextMs) continue
      const scheduledMs = schedule.nextMs
      let next = scheduledMs + schedule.intervalMs
      if (nowMs >= next) next = nowMs - ((nowMs - scheduledMs) % schedule.intervalMs) + schedule.intervalMs
      schedule.nextMs = next
      run(schedule, nowMs)
      punctuated = true
    }
    return punctuated
  }
}
