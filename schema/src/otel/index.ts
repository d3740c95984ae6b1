/**
 * @casefile/schema/otel: the OpenTelemetry SDK side of the contract, for Node
 * producers only (collector, server, test seeder). Not re-exported from the
 * package index: the Grafana plugin imports that and must not bundle the SDK.
 */
export * from './delivery-processor';
export * from './delivery-queue';
export * from './log-exporter';
export * from './resource';
