/** Base error of the state stores; `code` is stable, `cause` is kept. */
export class StateStoreError extends Error {
  readonly code: string
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'StateStoreError'
    this.code = code
  }
}

/** A store was used before `init` or after `close`. */
export class StoreNotOpenError extends StateStoreError {
  constructor(storeName: string) {
    super('STATE_STORE_NOT_OPEN', `state store "${storeName}" is not open`)
    this.name = 'StoreNotOpenError'
  }
}
