/** Put in place of the global `Buffer` by the browser build: the `buffer` package, Node's Buffer API for browsers. */
export { Buffer } from 'buffer'
