import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { type EventData, type EventType, eventCatalogue, eventKeyOf, isEventType } from './catalogue';

/** What every message on every topic carries (ARCHITECTURE.md, Events). `id` is the dedup key. */
export interface EventEnvelope<T extends EventType = EventType> {
  id: string;
  type: T;
  version: number;
  occurredAt: string;
  source: string;
  correlationId: string;
  data: EventData<T>;
}

export type AnyEventEnvelope = { [T in EventType]: EventEnvelope<T> }[EventType];

export interface CreateEventOptions {
  source: string;
  /** Ties together everything one user action caused; a new one is made when absent. */
  correlationId?: string | undefined;
  version?: number;
}

export function createEvent<T extends EventType>(
  type: T,
  data: EventData<T>,
  options: CreateEventOptions,
): EventEnvelope<T> {
  return {
    id: randomUUID(),
    type,
    version: options.version ?? 1,
    occurredAt: new Date().toISOString(),
    source: options.source,
    correlationId: options.correlationId ?? randomUUID(),
    data: eventCatalogue[type].schema.parse(data) as EventData<T>,
  };
}

/** The Kafka key of an event, from its catalogue entry. */
export function eventKey(event: AnyEventEnvelope): string {
  return eventKeyOf(event.type, event.data);
}

/** A message no retry can fix: it goes straight to the dead-letter topic. */
export class PoisonMessageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PoisonMessageError';
  }
}

const envelopeShape = z.object({
  id: z.uuid(),
  type: z.string(),
  version: z.number().int().positive(),
  occurredAt: z.iso.datetime({ offset: true }),
  source: z.string().min(1),
  correlationId: z.string().min(1),
  data: z.unknown(),
});

/** Parses and validates a message value against the envelope and the catalogue's payload schema. */
export function parseEnvelope(value: Buffer | string | null): AnyEventEnvelope {
  if (value === null) throw new PoisonMessageError('message has no value');
  let json: unknown;
  try {
    json = JSON.parse(value.toString());
  } catch {
    throw new PoisonMessageError('message value is not JSON');
  }
  const envelope = envelopeShape.safeParse(json);
  if (!envelope.success)
    throw new PoisonMessageError(`not an event envelope: ${z.prettifyError(envelope.error)}`);
  const { type } = envelope.data;
  if (!isEventType(type)) throw new PoisonMessageError(`unknown event type "${type}"`);
  const data = eventCatalogue[type].schema.safeParse(envelope.data.data);
  if (!data.success) throw new PoisonMessageError(`invalid ${type} payload: ${z.prettifyError(data.error)}`);
  return { ...envelope.data, type, data: data.data } as AnyEventEnvelope;
}
