/**
 * A node's metrics for Prometheus (prom-client). `node.metrics()` gives the
 * same numbers as a plain object, without this module.
 */
export { prometheusMetrics } from './prometheus.js'
export type { PrometheusOptions } from './prometheus.js'
