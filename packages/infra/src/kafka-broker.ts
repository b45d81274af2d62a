import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { cacheDir, kafkaPomDir } from './paths';
import { isOurProcess, portAnswers, run, spawnDetached, stopProcess, waitUntil } from './process';

/** Pinned broker version: keep in step with kafka/pom.xml and the apache/kafka image in docker-compose.yml. */
export const KAFKA_VERSION = readFileSync(join(kafkaPomDir, 'pom.xml'), 'utf8').match(
  /<kafka\.version>([^<]+)<\/kafka\.version>/,
)?.[1] as string;

// KRaft needs a cluster id (base64 of 16 bytes); a fixed one keeps `format -g` idempotent per data dir.
const CLUSTER_ID = 'c2hvcC1zdXBlcmdyYXBoAA';

export interface KafkaBrokerOptions {
  /** Folder that holds this broker's data, config, log and pid. */
  dir: string;
  port?: number;
  controllerPort?: number;
  heapMb?: number;
}

/**
 * One real Apache Kafka broker (KRaft, broker + controller in one JVM) run from its Maven Central jars.
 * Used by infra:up for development and by fault-injection tests that stop and restart their own broker.
 */
export class KafkaBroker {
  readonly port: number;
  readonly controllerPort: number;
  readonly dir: string;
  private readonly heapMb: number;

  constructor(options: KafkaBrokerOptions) {
    this.dir = options.dir;
    this.port = options.port ?? 9092;
    this.controllerPort = options.controllerPort ?? 9093;
    this.heapMb = options.heapMb ?? 512;
  }

  get bootstrap(): string {
    return `localhost:${this.port}`;
  }

  private get propertiesFile(): string {
    return join(this.dir, 'server.properties');
  }

  private get pidFile(): string {
    return join(this.dir, 'broker.pid');
  }

  get logFile(): string {
    return join(this.dir, 'broker.log');
  }

  /** The pid of the broker this object started, if it still runs. */
  runningPid(): number | undefined {
    if (!existsSync(this.pidFile)) return undefined;
    const pid = Number(readFileSync(this.pidFile, 'utf8'));
    return isOurProcess(pid, this.propertiesFile) ? pid : undefined;
  }

  /** Starts the broker (fetching jars and formatting storage the first time) and waits until it serves clients. */
  async start({ onProgress = (_: string) => {} } = {}): Promise<number> {
    const running = this.runningPid();
    if (running !== undefined) return running;
    if (await portAnswers(this.port)) {
      throw new Error(`port ${this.port} is taken by another process; set KAFKA_BROKERS to use that broker`);
    }
    const libs = ensureKafkaJars(onProgress);
    mkdirSync(join(this.dir, 'data'), { recursive: true });
    writeFileSync(this.propertiesFile, this.serverProperties());
    writeFileSync(join(this.dir, 'log4j2.properties'), LOG4J2_PROPERTIES);
    const classpath = `${libs}/*`;
    if (!existsSync(join(this.dir, 'data', 'meta.properties'))) {
      onProgress('formatting Kafka storage (KRaft)');
      run('java', [
        '-cp',
        classpath,
        'kafka.tools.StorageTool',
        'format',
        '-t',
        CLUSTER_ID,
        '-c',
        this.propertiesFile,
        '-g',
      ]);
    }
    onProgress(`starting Apache Kafka ${KAFKA_VERSION} on ${this.bootstrap}`);
    const pid = spawnDetached(
      'java',
      [
        `-Xms${Math.min(256, this.heapMb)}m`,
        `-Xmx${this.heapMb}m`,
        '-XX:+UseG1GC',
        '-Djava.awt.headless=true',
        `-Dlog4j2.configurationFile=file:${join(this.dir, 'log4j2.properties')}`,
        `-Dkafka.logs.dir=${this.dir}`,
        '-cp',
        classpath,
        'kafka.Kafka',
        this.propertiesFile,
      ],
      this.logFile,
    );
    writeFileSync(this.pidFile, String(pid));
    await waitUntil(
      `Kafka broker on ${this.bootstrap} (log: ${this.logFile})`,
      async () => {
        if (!isOurProcess(pid, this.propertiesFile)) {
          throw new Error(`Kafka broker exited during start-up; see ${this.logFile}`);
        }
        return kafkaAnswers([this.bootstrap]);
      },
      { timeoutMs: 120_000, intervalMs: 500 },
    );
    return pid;
  }

  async stop(): Promise<void> {
    const pid = this.runningPid();
    if (pid !== undefined) await stopProcess(pid, this.propertiesFile);
  }

  private serverProperties(): string {
    return `# Written by packages/infra on every start; edit kafka-broker.ts instead.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@localhost:${this.controllerPort}
controller.listener.names=CONTROLLER
listeners=PLAINTEXT://:${this.port},CONTROLLER://:${this.controllerPort}
advertised.listeners=PLAINTEXT://localhost:${this.port}
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
log.dirs=${join(this.dir, 'data')}
num.partitions=3
# A single node cannot satisfy the default replication factor of 3 for internal topics.
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
# Consumers join at once instead of waiting 3 s for others; short sessions keep tests quick.
group.initial.rebalance.delay.ms=0
group.min.session.timeout.ms=1000
# Topics come from the event catalogue, created explicitly; a typo must not create a topic.
auto.create.topics.enable=false
`;
  }
}

const LOG4J2_PROPERTIES = `status = warn
appender.stdout.type = Console
appender.stdout.name = STDOUT
appender.stdout.layout.type = PatternLayout
appender.stdout.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.stdout.ref = STDOUT
logger.kafka.name = kafka
logger.kafka.level = INFO
logger.state.name = state.change.logger
logger.state.level = WARN
`;

/** Fetches the broker's jars from Maven Central once per version into the machine-wide cache. */
export function ensureKafkaJars(onProgress: (message: string) => void = () => {}): string {
  const libs = join(cacheDir, `kafka-${KAFKA_VERSION}`, 'libs');
  const complete = join(libs, '.complete');
  if (existsSync(complete)) return libs;
  onProgress(`fetching Apache Kafka ${KAFKA_VERSION} jars from Maven Central into ${libs}`);
  run('mvn', [
    '-q',
    '-B',
    '-f',
    join(kafkaPomDir, 'pom.xml'),
    'dependency:copy-dependencies',
    '-DincludeScope=runtime',
    `-DoutputDirectory=${libs}`,
  ]);
  if (!readdirSync(libs).some((file) => file.startsWith('kafka_2.13-'))) {
    throw new Error(`Maven finished but ${libs} holds no kafka_2.13 jar`);
  }
  writeFileSync(complete, new Date().toISOString());
  return libs;
}

/** True when a Kafka broker at these addresses answers a metadata request. */
export async function kafkaAnswers(brokers: string[]): Promise<boolean> {
  const admin = new Kafka({
    clientId: 'shop-infra-probe',
    brokers,
    logLevel: logLevel.NOTHING,
    connectionTimeout: 1_000,
    retry: { retries: 0 },
  }).admin();
  try {
    await admin.connect();
    await admin.listTopics();
    return true;
  } catch {
    return false;
  } finally {
    await admin.disconnect().catch(() => {});
  }
}
