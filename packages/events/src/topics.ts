import type { Kafka } from 'kafkajs';

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
      await admin.createTopics({
        waitForLeaders: true,
        topics: missing.map((topic) => ({ topic, numPartitions: partitions, replicationFactor: 1 })),
      });
    }
    return missing;
  } finally {
    await admin.disconnect();
  }
}
