/**
 * @casefile/schema: the event contract shared by the collector, the server
 * and the Grafana plugin. Free of @grafana/* and OpenTelemetry imports so all
 * three can use it as it is.
 */
export * from './fields';
export * from './event-types';
export * from './event';
export * from './limits';
export * from './otlp';
export * from './loki-labels';
export * from './decode';
export * from './page-walker';
export * from './logql';
export * from './csv';
