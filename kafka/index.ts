/**
 * kafka/: the one layer that talks to the cluster for the others (issue 17 grows it: client
 * factory, partition reader). For now: waiting for topics to be usable.
 */
export { awaitTopicsReady, retryWithin, type TopicToAwait } from './topics.ts'
