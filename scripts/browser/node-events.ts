/**
 * `node:events` in the browser build: the `events` package's EventEmitter
 * and `once`, and `setMaxListeners`, which only quiets a Node warning
 * that browsers do not have.
 */
export { EventEmitter, once } from 'events'

export function setMaxListeners (): void {}
