/**
 * A Casefile producer's OpenTelemetry resource: what the SDK's detectors find
 * (env: OTEL_RESOURCE_ATTRIBUTES and OTEL_SERVICE_NAME; host; os; process),
 * then the producer's extra attributes, then Casefile's own identity
 * (resourceAttributes(): namespace, service, host), each overriding the one
 * before.
 *
 * A detected attribute that names a Casefile event field is left out: Loki
 * stores resource and record attributes side by side as structured metadata,
 * so the collector's own `process.pid` would shadow the event's `pid` (and
 * `process.command_args` would carry the collector's command line, flags and
 * all).
 */
import {
  detectResources,
  envDetector,
  hostDetector,
  osDetector,
  processDetector,
  resourceFromAttributes,
  type Resource,
} from '@opentelemetry/resources';
import { FIELDS, type FieldSpec } from '../fields';
import { resourceAttributes, type ProducerIdentity } from '../otlp';

/** OTel names of the fields events carry as record attributes. */
const EVENT_ATTRS = new Set(
  Object.values(FIELDS as Record<string, FieldSpec>)
    .filter((f) => !f.resource)
    .map((f) => f.attr)
);

/**
 * The resource for `identity`. Synchronous: attributes a detector finds
 * asynchronously (host.id) settle later, and the DeliveryProcessor waits for
 * them before its first request.
 */
export function producerResource(identity: ProducerIdentity, extra: Record<string, string> = {}): Resource {
  const detected = detectResources({ detectors: [envDetector, hostDetector, osDetector, processDetector] });
  const kept = detected.getRawAttributes().filter(([k]) => !EVENT_ATTRS.has(k));
  return resourceFromAttributes(Object.fromEntries(kept)).merge(
    resourceFromAttributes({ ...extra, ...resourceAttributes(identity) })
  );
}
