/** errors/: the error base every layer's errors extend (runnel-error.ts). Imports nothing. */
export { RunnelError, errorCodes, type CodeOf } from './runnel-error.ts'
