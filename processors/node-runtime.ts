/**
 * The live nodes of a task: each holds its processor, its children and its own context, so that a
 * processor's `forward` always reaches that node's children, also from flush listeners and punctuators.
 */
import type { StateStore } from '../state/index.ts'
import type { Cancellable, DropReason, Processor, ProcessorContext, Punctuator, PunctuationType, RecordMetadata, StreamRecord } from './api.ts'
import { ProcessingError, StreamsError } from './errors.ts'

/** What a node context needs from its task. */
export interface TaskServices {
  readonly applicationId: string
  readonly taskId: string
  readonly partition: number
  streamTimeMs(): number
  systemTimeMs(): number
  recordMetadata(): RecordMetadata | null
  schedule(nodeName: string, intervalMs: number, type: PunctuationType, punctuator: Punctuator): Cancellable
  /** A task-local or global store by name. */
  store(name: string): StateStore | undefined
  isGlobalStore(name: string): boolean
  recordDropped(nodeName: string, reason: DropReason): void
  /** Called around punctuators and flush listeners so that processing errors name the node. */
  setCurrentNode(name: string | null): void
}

/** A node of a running task. `process` is the entry point records take from the parent. */
export class NodeRuntime {
  readonly name: string
  readonly children: NodeRuntime[] = []
  readonly context: NodeContext
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  private readonly processor: Processor<any, any, any, any>

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  constructor(name: string, processor: Processor<any, any, any, any>, allowedStores: readonly string[], services: TaskServices) {
    this.name = name
    this.processor = processor
    this.context = new NodeContext(this, allowedStores, services)
  }

  init(): void {
    this.processor.init?.(this.context)
  }

  process(record: StreamRecord<unknown, unknown>): void {
    try {
      this.processor.process(record)
    } catch (err) {
      if (err instanceof StreamsError) throw err
      throw new ProcessingError(this.name, `processor ${this.name} failed: ${(err as Error)?.message ?? String(err)}`, { cause: err })
    }
  }

  close(): void {
    this.processor.close?.()
  }
}

/** The `ProcessorContext` of one node. */
export class NodeContext implements ProcessorContext<unknown, unknown> {
  private readonly node: NodeRuntime
  private readonly allowedStores: ReadonlySet<string>
  private readonly services: TaskServices

  constructor(node: NodeRuntime, allowedStores: readonly string[], services: TaskServices) {
    this.node = node
    this.allowedStores = new Set(allowedStores)
    this.services = services
  }

  get applicationId(): string {
    return this.services.applicationId
  }
  get taskId(): string {
    return this.services.taskId
  }
  get partition(): number {
    return this.services.partition
  }
  get processorName(): string {
    return this.node.name
  }

  forward(record: StreamRecord<unknown, unknown>, childName?: string): void {
    const children = this.node.children
    if (childName !== undefined) {
      const child = children.find((c) => c.name === childName)
      if (!child) throw new ProcessingError(this.node.name, `processor ${this.node.name} has no child named ${childName}`)
      child.process(record)
      return
    }
    for (let i = 0; i < children.length; i++) (children[i] as NodeRuntime).process(record)
  }

  schedule(intervalMs: number, type: PunctuationType, punctuator: Punctuator): Cancellable {
    if (!Number.isSafeInteger(intervalMs) || intervalMs < 1) {
      throw new ProcessingError(this.node.name, `schedule interval of ${this.node.name} must be a positive integer ms, got ${intervalMs}`)
    }
    return this.services.schedule(this.node.name, intervalMs, type, punctuator)
  }

  getStateStore<S extends StateStore>(name: string): S {
    if (!this.allowedStores.has(name) && !this.services.isGlobalStore(name)) {
      throw new ProcessingError(this.node.name, `processor ${this.node.name} is not connected to store ${name}`)
    }
    const store = this.services.store(name)
    if (!store) throw new ProcessingError(this.node.name, `store ${name} of processor ${this.node.name} does not exist in task ${this.services.taskId}`)
    return store as S
  }

  recordMetadata(): RecordMetadata | null {
    return this.services.recordMetadata()
  }
  currentStreamTimeMs(): number {
    return this.services.streamTimeMs()
  }
  currentSystemTimeMs(): number {
    return this.services.systemTimeMs()
  }
  recordDropped(reason: DropReason): void {
    this.services.recordDropped(this.node.name, reason)
  }
}
