/**
 * `KStream.split()`: routes each record to the first branch whose predicate matches (Kafka Streams'
 * BranchedKStream). Branch streams are keyed in the result map by `<split name><branch name>`.
 */
import { branchProcessor, passThroughProcessor } from '../processors/index.ts'
import { KStream } from './kstream.ts'

/** Options of one branch: its name, and optionally a function that consumes the branch stream. */
export interface Branched<K, V> {
  readonly name?: string
  readonly chain?: (stream: KStream<K, V>) => void
}

export class BranchedKStream<K, V> {
  private readonly source: KStream<K, V>
  private readonly prefix: string
  private readonly nodeName: string
  private readonly branches: Array<{ predicate: (key: K, value: V) => boolean; child: string }> = []
  private defaultChild: string | undefined
  private readonly result = new Map<string, KStream<K, V>>()

  /** @internal Use `KStream.split()`. */
  constructor(source: KStream<K, V>, name: string | undefined) {
    this.source = source
    this.prefix = name ?? ''
    this.nodeName = name ?? source.ctx.newName('KSTREAM-BRANCH-')
    // The supplier reads the branch list when a task is created, after all branches were added.
    source.ctx.topology.addProcessor(this.nodeName, () => branchProcessor(this.branches, this.defaultChild)(), source.nodeName)
  }

  /** Adds a branch for records matching `predicate` (and not matching an earlier branch). */
  branch(predicate: (key: K, value: V) => boolean, branched: Branched<K, V> = {}): this {
    const child = this.addChild(branched, String(this.branches.length + 1))
    this.branches.push({ predicate, child })
    return this
  }

  /** Records matching no branch go to a default branch; returns the branches by name. */
  defaultBranch(branched: Branched<K, V> = {}): Map<string, KStream<K, V>> {
    this.defaultChild = this.addChild(branched, '0')
    return this.result
  }

  /** Records matching no branch are dropped; returns the branches by name. */
  noDefaultBranch(): Map<string, KStream<K, V>> {
    return this.result
  }

  private addChild(branched: Branched<K, V>, index: string): string {
    const ctx = this.source.ctx
    const branchName = `${this.prefix}${branched.name ?? index}`
    const childName = this.prefix !== '' || branched.name !== undefined ? branchName : ctx.newName('KSTREAM-BRANCHCHILD-')
    ctx.topology.addProcessor(childName, passThroughProcessor(), this.nodeName)
    const branchStream = new KStream<K, V>(ctx, childName, this.source.info)
    if (branched.chain) branched.chain(branchStream)
    else this.result.set(branchName, branchStream)
    return childName
  }
}
