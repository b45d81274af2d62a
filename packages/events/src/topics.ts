import { setTimeout as sleep } from 'node:timers/promises';
import type { Admin, Kafka } from 'kafkajs';

const LEADER_WAIT_MS = 15_000;

/** Creates the topics that are missing (idempotent; brokers run with auto-creation off); returns those created. */
export async function ensureTopics(
  kafka: Kafka,
  topics: readonly string[],
  partitions = 3,
): Promise<string[]> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = topics.filter((topic) => !existing.has(topic));
    if (missing.length > 0) {
      // Another process may create the same topics at the same moment; "already exists" is success.
      await admin
        .createTopics({
          waitForLeaders: false,
          topics: missing.map((topic) => ({ topic, numPartitions: partitions, replicationFactor: 1 })),
        })
        .catch((error: unknown) => {
          if (!/already exists/i.test(String((error as Error).message))) throw error;
        });
      await waitForLeaders(admin, missing);
    }
    return missing;
  } finally {
    await admin.disconnect();
  }
}

/**
 * kafkajs' own waitForLeaders gives up on UNKNOWN_TOPIC_OR_PARTITION, which a just-started broker answers
 * for a moment; poll the metadata until every partition has a leader.
 */
async function waitForLeaders(admin: Admin, topics: string[]): Promise<void> {
  const deadline = Date.now() + LEADER_WAIT_MS;
  for (;;) {
    try {
      const { topics: metadata } = await admin.fetchTopicMetadata({ topics });
      if (
        metadata.length === topics.length &&
        metadata.every((t) => t.partitions.every((p) => p.leader >= 0))
      )
        return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
    }
    if (Date.now() > deadline)
      throw new Error(`topics ${topics.join(', ')} have no leader after ${LEADER_WAIT_MS} ms`);
    await sleep(100);
  }
}

/**
 * Runs an admin read again while the broker answers with a retriable error: just after topics are created,
 * or after a leader change, a broker briefly says it is not the leader of a partition.
 */
export async function retryRetriable<T>(
  work: () => Promise<T>,
  { attempts = 20, delayMs = 150 } = {},
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (error) {
      if (attempt >= attempts || (error as { retriable?: boolean }).retriable !== true) throw error;
      await sleep(delayMs);
    }
  }
}
