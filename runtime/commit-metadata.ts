/**
 * The metadata string committed with each input offset: the task's stream time, so that a task
 * resuming elsewhere (or after a restart) starts from the stream time it had, and a window closed
 * before stays closed.
 *
 * Layout, as Kafka Streams writes it (`StreamTask.encodeTimestamp`), base64 of:
 *   byte 0     version: 1 (Kafka Streams' version 2 appends processor metadata after the time)
 *   bytes 1-8  stream time, int64 big-endian, epoch ms
 */

const VERSION = 1

/** The commit metadata for a stream time (ms). */
export function encodeCommitMetadata(streamTimeMs: number): string {
  const buffer = Buffer.alloc(9)
  buffer.writeUInt8(VERSION, 0)
  buffer.writeBigInt64BE(BigInt(Math.trunc(streamTimeMs)), 1)
  return buffer.toString('base64')
}

/**
 * The stream time in commit metadata, or `undefined` when there is none or it is not ours (another
 * tool's metadata, an empty string): the task then starts without one, as before.
 */
export function decodeCommitMetadata(metadata: string | null | undefined): number | undefined {
  if (!metadata) return undefined
  const buffer = Buffer.from(metadata, 'base64')
  if (buffer.length < 9) return undefined
  const version = buffer.readUInt8(0)
  if (version !== 1 && version !== 2) return undefined
  const time = Number(buffer.readBigInt64BE(1))
  return Number.isSafeInteger(time) && time >= 0 ? time : undefined
}
