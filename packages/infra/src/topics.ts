import { domainTopics } from '@shop/events/catalogue';
import { ensureTopics as createMissingTopics } from '@shop/events/topics';
import { Kafka, logLevel } from 'kafkajs';

/** Creates every topic of the event catalogue that is missing (idempotent); returns the ones created. */
export function ensureTopics(brokers: string[], topics: readonly string[] = domainTopics): Promise<string[]> {
  return createMissingTopics(new Kafka({ clientId: 'shop-infra', brokers, logLevel: logLevel.WARN }), topics);
}
