import { EVENT_ID_ATTR, EVENT_TYPE_ATTR } from './otlp';
import { FIELDS, lokiName } from './fields';

/**
 * Loki stream labels (the index). They must stay low-cardinality: every
 * distinct combination is a stream, and streams are what Loki indexes and
 * keeps in memory. Everything else an event carries is structured metadata:
 * filterable and groupable in LogQL (`| container_id="..."`), not indexed.
 *
 * provisioning/loki/loki.yaml's `otlp_config` must index exactly these
 * resource attributes; the contract test checks what Loki returns.
 */
export const STREAM_LABELS = [
  {
    label: 'service_namespace',
    attr: 'service.namespace',
    why: 'Always "casefile": the root of every selector, separates Casefile from other logs in the same Loki.',
  },
  {
    label: 'service_name',
    attr: 'service.name',
    why: 'Which component produced it (casefile-collector, casefile-server): a handful of values.',
  },
  {
    label: 'service_instance_id',
    attr: 'service.instance.id',
    why: "Loki's default OTLP index label; Casefile sets it to the stable host id, so it adds no cardinality.",
  },
  {
    label: 'host_name',
    attr: FIELDS.host.attr,
    why: 'One value per node, bounded by cluster size; the most common scope of an investigation.',
  },
] as const;

/** Labels that are deliberately NOT stream labels, and why. */
export const NOT_STREAM_LABELS = [
  {
    label: lokiName(EVENT_TYPE_ATTR),
    why: 'A log attribute; Loki only indexes resource attributes. Filtered as metadata.',
  },
  {
    label: lokiName(FIELDS.containerId.attr),
    why: 'Unbounded: a new value for every container ever started.',
  },
  { label: lokiName(FIELDS.pod.attr), why: 'Unbounded: pods churn.' },
  { label: lokiName(EVENT_ID_ATTR), why: 'Unique per event.' },
] as const;

export const EVENT_ID_LABEL = lokiName(EVENT_ID_ATTR);
export const EVENT_TYPE_LABEL = lokiName(EVENT_TYPE_ATTR);
