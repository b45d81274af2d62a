import { existsSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import { Ingress } from 'kubernetes-models/networking.k8s.io/v1/Ingress';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { Secret } from 'kubernetes-models/v1/Secret';
import { Service } from 'kubernetes-models/v1/Service';
import { parse, parseAllDocuments } from 'yaml';

// Offline checks of deploy/ (docker compose's observability stack, deploy/k8s): a small kustomize renderer for
// the fields the manifests use, schema validation with kubernetes-models, and cross-checks against the
// services' settings and the step 12 observability contract. CI has no cluster, no kubectl, no Docker.

/** One Kubernetes object as rendered: the fields every check reads, the rest left to the schemas. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  [field: string]: unknown;
}

type Json = Record<string, unknown>;

// --- the observability contract (issue 15): ports and metric names the code, compose and the dashboard share ---

/** `METRICS_PORT` defaults: the service port + 6400. */
export const contractMetricsPorts: Record<string, number> = {
  gateway: 9400,
  users: 9401,
  products: 9402,
  orders: 9403,
  cart: 9404,
  payments: 9405,
  inventory: 9406,
  notifications: 9407,
};

/** Every metric of the contract and its labels (`service` is on every series as the registry's default label). */
export const contractMetrics: Record<string, { type: 'counter' | 'gauge' | 'histogram'; labels: string[] }> =
  {
    shop_graphql_operations_total: {
      type: 'counter',
      labels: ['operation_name', 'operation_type', 'outcome'],
    },
    shop_graphql_operation_duration_seconds: {
      type: 'histogram',
      labels: ['operation_name', 'operation_type'],
    },
    shop_graphql_errors_total: { type: 'counter', labels: ['code'] },
    shop_gateway_subgraph_fetch_duration_seconds: { type: 'histogram', labels: ['subgraph', 'outcome'] },
    shop_gateway_upstream_sockets: { type: 'gauge', labels: ['subgraph'] },
    shop_subscriptions_active: { type: 'gauge', labels: [] },
    shop_kafka_consumer_lag: { type: 'gauge', labels: ['group', 'topic', 'partition'] },
    shop_outbox_backlog: { type: 'gauge', labels: [] },
    shop_outbox_oldest_unpublished_age_seconds: { type: 'gauge', labels: [] },
    shop_events_published_total: { type: 'counter', labels: ['topic'] },
    shop_events_consumed_total: { type: 'counter', labels: ['group', 'topic', 'outcome'] },
    shop_dead_letters_total: { type: 'counter', labels: ['group', 'topic'] },
    shop_reservation_expiry_runs_total: { type: 'counter', labels: ['outcome'] },
    shop_reservations_expired_total: { type: 'counter', labels: [] },
    shop_emails_sent_total: { type: 'counter', labels: ['template'] },
    shop_emails_failed_total: { type: 'counter', labels: ['template'] },
  };

/** Settings of the contract a service may be given whether or not its env schema lists them yet. */
export const contractSettings = [
  'METRICS_PORT',
  'METRICS_HOST',
  'METRICS_ENABLED',
  'OTEL_EXPORTER_OTLP_ENDPOINT',
  'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT',
  'OTEL_SERVICE_NAME',
  'OTEL_SDK_DISABLED',
];

// --- rendering kustomizations ---

/** The kustomization fields this renderer implements; any other field is an error, never silently ignored. */
const supportedKustomizationFields = new Set([
  'apiVersion',
  'kind',
  'resources',
  'namespace',
  'labels',
  'images',
  'patches',
]);

const clusterScopedKinds = new Set([
  'Namespace',
  'ClusterRole',
  'ClusterRoleBinding',
  'CustomResourceDefinition',
  'PersistentVolume',
  'StorageClass',
  'PriorityClass',
]);

export class KustomizeError extends Error {
  constructor(dir: string, message: string) {
    super(`${dir}: ${message}`);
    this.name = 'KustomizeError';
  }
}

function isRecord(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function onlyKeys(dir: string, what: string, value: Json, allowed: string[]): void {
  const unknown = Object.keys(value).filter((key) => !allowed.includes(key));
  if (unknown.length > 0)
    throw new KustomizeError(dir, `${what}: unsupported field(s) ${unknown.join(', ')}`);
}

/** Every YAML document of a manifest file, each checked to be an object with apiVersion, kind and a name. */
export function readManifestFile(path: string): KubeObject[] {
  return parseAllDocuments(readFileSync(path, 'utf8'))
    .map((document) => {
      if (document.errors.length > 0)
        throw new KustomizeError(path, document.errors[0]?.message ?? 'bad YAML');
      return document.toJS() as unknown;
    })
    .filter((object) => object !== null)
    .map((object) => {
      if (
        !isRecord(object) ||
        typeof object.apiVersion !== 'string' ||
        typeof object.kind !== 'string' ||
        !isRecord(object.metadata) ||
        typeof object.metadata.name !== 'string'
      ) {
        throw new KustomizeError(path, 'every document needs apiVersion, kind and metadata.name');
      }
      return object as KubeObject;
    });
}

/**
 * What `kubectl kustomize <dir>` prints, for the fields deploy/k8s uses: `resources` (files and directories
 * with their own kustomization), `patches` (JSON 6902 operations, targets by group/version/kind/exact name),
 * `namespace`, `labels` (pairs on metadata, and on pod templates with includeTemplates; never selectors) and
 * `images` (newName/newTag/digest). Anything else fails. Objects come out in resource order.
 */
export function renderKustomization(dir: string): KubeObject[] {
  const file = ['kustomization.yaml', 'kustomization.yml', 'Kustomization']
    .map((name) => join(dir, name))
    .find((path) => existsSync(path));
  if (!file) throw new KustomizeError(dir, 'no kustomization.yaml');
  const kustomization = parse(readFileSync(file, 'utf8')) as unknown;
  if (!isRecord(kustomization)) throw new KustomizeError(dir, 'kustomization.yaml is not a mapping');
  onlyKeys(dir, 'kustomization', kustomization, [...supportedKustomizationFields]);
  if (kustomization.kind !== undefined && kustomization.kind !== 'Kustomization') {
    throw new KustomizeError(dir, `kind ${String(kustomization.kind)} is not Kustomization`);
  }

  const objects: KubeObject[] = [];
  for (const entry of asList(dir, 'resources', kustomization.resources)) {
    if (typeof entry !== 'string' || /^[a-z]+:\/\//.test(entry) || entry.startsWith('github.com/')) {
      throw new KustomizeError(
        dir,
        `resource ${String(entry)}: only local files and directories are supported`,
      );
    }
    const path = resolve(dir, entry);
    if (!existsSync(path)) throw new KustomizeError(dir, `resource ${entry} does not exist`);
    objects.push(...(statSync(path).isDirectory() ? renderKustomization(path) : readManifestFile(path)));
  }
  const seen = new Set<string>();
  for (const object of objects) {
    const id = objectId(object);
    if (seen.has(id)) throw new KustomizeError(dir, `${id} is defined twice`);
    seen.add(id);
  }

  for (const patch of asList(dir, 'patches', kustomization.patches)) applyPatch(dir, objects, patch);
  if (kustomization.namespace !== undefined) {
    if (typeof kustomization.namespace !== 'string')
      throw new KustomizeError(dir, 'namespace must be a string');
    for (const object of objects) {
      if (!clusterScopedKinds.has(object.kind)) object.metadata.namespace = kustomization.namespace;
    }
  }
  for (const labels of asList(dir, 'labels', kustomization.labels)) applyLabels(dir, objects, labels);
  for (const image of asList(dir, 'images', kustomization.images)) applyImage(dir, objects, image);
  return objects;
}

function asList(dir: string, field: string, value: unknown): unknown[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw new KustomizeError(dir, `${field} must be a list`);
  return value;
}

export function objectId(object: KubeObject): string {
  return `${object.kind}/${object.metadata.namespace ? `${object.metadata.namespace}/` : ''}${object.metadata.name}`;
}

function applyLabels(dir: string, objects: KubeObject[], entry: unknown): void {
  if (!isRecord(entry)) throw new KustomizeError(dir, 'labels entries must be mappings');
  onlyKeys(dir, 'labels', entry, ['pairs', 'includeSelectors', 'includeTemplates']);
  // Selectors are immutable on a live Deployment and need kustomize's field specs: not rendered here.
  if (entry.includeSelectors === true)
    throw new KustomizeError(dir, 'labels: includeSelectors is not supported');
  if (!isRecord(entry.pairs)) throw new KustomizeError(dir, 'labels: pairs must be a mapping');
  const pairs = Object.fromEntries(Object.entries(entry.pairs).map(([key, value]) => [key, String(value)]));
  for (const object of objects) {
    object.metadata.labels = { ...object.metadata.labels, ...pairs };
    const template = (object.spec as Json | undefined)?.template;
    if (entry.includeTemplates === true && isRecord(template)) {
      if (!isRecord(template.metadata)) template.metadata = {};
      const metadata = template.metadata as Json;
      metadata.labels = { ...(metadata.labels as Json | undefined), ...pairs };
    }
  }
}

function applyImage(dir: string, objects: KubeObject[], entry: unknown): void {
  if (!isRecord(entry) || typeof entry.name !== 'string')
    throw new KustomizeError(dir, 'images: name missing');
  onlyKeys(dir, 'images', entry, ['name', 'newName', 'newTag', 'digest']);
  const { name, newName, newTag, digest } = entry as {
    name: string;
    newName?: string;
    newTag?: string;
    digest?: string;
  };
  for (const object of objects) {
    for (const container of podContainers(object, true)) {
      const { repository, reference } = splitImage(String(container.image ?? ''));
      if (repository !== name) continue;
      const ref = digest ? `@${digest}` : newTag !== undefined ? `:${newTag}` : reference;
      container.image = `${newName ?? repository}${ref}`;
    }
  }
}

/** `registry:5000/shop:1.2` → repository `registry:5000/shop`, reference `:1.2` (a tag or `@sha256:…`). */
function splitImage(image: string): { repository: string; reference: string } {
  const at = image.indexOf('@');
  if (at >= 0) return { repository: image.slice(0, at), reference: image.slice(at) };
  const colon = image.lastIndexOf(':');
  if (colon > image.lastIndexOf('/'))
    return { repository: image.slice(0, colon), reference: image.slice(colon) };
  return { repository: image, reference: '' };
}

function applyPatch(dir: string, objects: KubeObject[], entry: unknown): void {
  if (!isRecord(entry)) throw new KustomizeError(dir, 'patches entries must be mappings');
  onlyKeys(dir, 'patches', entry, ['target', 'patch', 'path']);
  if (!isRecord(entry.target)) throw new KustomizeError(dir, 'patches: a target is required');
  onlyKeys(dir, 'patches: target', entry.target, ['group', 'version', 'kind', 'name']);
  const text =
    typeof entry.patch === 'string'
      ? entry.patch
      : typeof entry.path === 'string'
        ? readFileSync(resolve(dir, entry.path), 'utf8')
        : undefined;
  if (text === undefined) throw new KustomizeError(dir, 'patches: patch or path is required');
  const operations = parse(text) as unknown;
  if (!Array.isArray(operations)) {
    throw new KustomizeError(
      dir,
      'patches: only JSON 6902 operation lists are supported (not strategic merge)',
    );
  }
  const target = entry.target as { group?: string; version?: string; kind?: string; name?: string };
  const matches = objects.filter((object) => {
    const [group, version] = object.apiVersion.includes('/')
      ? object.apiVersion.split('/')
      : ['', object.apiVersion];
    return (
      (target.kind === undefined || target.kind === object.kind) &&
      (target.name === undefined || target.name === object.metadata.name) &&
      (target.group === undefined || target.group === group) &&
      (target.version === undefined || target.version === version)
    );
  });
  // kustomize ignores a target that matches nothing; a typo there would silently change nothing.
  if (matches.length === 0)
    throw new KustomizeError(dir, `patches: target ${JSON.stringify(target)} matches nothing`);
  for (const object of matches) {
    for (const operation of operations)
      applyJsonPatchOperation(`${dir} ${objectId(object)}`, object, operation);
  }
}

function pointer(path: string): string[] {
  if (!path.startsWith('/')) throw new Error(`"${path}" is not a JSON pointer`);
  return path
    .slice(1)
    .split('/')
    .map((part) => part.replaceAll('~1', '/').replaceAll('~0', '~'));
}

/** RFC 6902 add, replace and remove (the operations kustomize's JSON patches are written with here). */
function applyJsonPatchOperation(where: string, document: Json, operation: unknown): void {
  if (!isRecord(operation) || typeof operation.op !== 'string' || typeof operation.path !== 'string') {
    throw new KustomizeError(where, 'a JSON patch operation needs op and path');
  }
  const { op, path, value } = operation as { op: string; path: string; value?: unknown };
  if (!['add', 'replace', 'remove'].includes(op))
    throw new KustomizeError(where, `op ${op} is not supported`);
  const parts = pointer(path);
  const last = parts.pop() as string;
  let parent: unknown = document;
  for (const part of parts) {
    parent = Array.isArray(parent) ? parent[Number(part)] : isRecord(parent) ? parent[part] : undefined;
    if (parent === undefined) throw new KustomizeError(where, `${op} ${path}: ${part} does not exist`);
  }
  if (Array.isArray(parent)) {
    const index = last === '-' ? parent.length : Number(last);
    if (!Number.isInteger(index) || index < 0 || index > parent.length - (op === 'add' ? 0 : 1)) {
      throw new KustomizeError(where, `${op} ${path}: no index ${last}`);
    }
    if (op === 'add') parent.splice(index, 0, value);
    else if (op === 'replace') parent[index] = value;
    else parent.splice(index, 1);
    return;
  }
  if (!isRecord(parent)) throw new KustomizeError(where, `${op} ${path}: the parent is not an object`);
  if (op !== 'add' && !(last in parent)) throw new KustomizeError(where, `${op} ${path}: nothing there`);
  if (op === 'remove') delete parent[last];
  else parent[last] = value;
}

// --- schema validation ---

interface Validating {
  validate(): void;
}

/** The kinds deploy/ may contain, each with its kubernetes-models class; any other kind is an error. */
const modelClasses: Record<string, new (data: never) => Validating> = {
  'v1/Namespace': Namespace,
  'v1/ConfigMap': ConfigMap,
  'v1/Secret': Secret,
  'v1/Service': Service,
  'apps/v1/Deployment': Deployment,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler,
  'networking.k8s.io/v1/Ingress': Ingress,
};

/** Each object against the Kubernetes OpenAPI schema of its kind (kubernetes-models' validate()). */
export function schemaProblems(objects: KubeObject[]): string[] {
  const problems: string[] = [];
  for (const object of objects) {
    const Model = modelClasses[`${object.apiVersion}/${object.kind}`];
    if (!Model) {
      problems.push(`${objectId(object)}: kind ${object.apiVersion}/${object.kind} is not validated here`);
      continue;
    }
    try {
      new Model(structuredClone(object) as never).validate();
    } catch (error) {
      problems.push(`${objectId(object)}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  return problems;
}

// --- cross-checks ---

/** A service's env schema (zod, as `subgraphEnv` and the gateway's config build it), as far as the checks use it. */
export interface EnvSchema {
  shape: Record<string, { safeParse(value: unknown): { success: boolean } }>;
  safeParse(
    env: Record<string, string>,
  ):
    | { success: true; data: unknown }
    | { success: false; error: { issues: { path: PropertyKey[]; message: string }[] } };
}

/** What one service's Deployment must be, from its settings (registry, env schema) and the contract. */
export interface ServiceExpectation {
  name: string;
  /** Its /graphql and /health port. */
  port: number;
  metricsPort: number;
  /** The entry file the image runs, from the repository root. */
  entry: string;
  /** The service's env schema: required keys, known keys, and the parsed values must be right. */
  schema: EnvSchema;
  /** Values standing in for the Secret's (from .env.example): only the other settings are under test. */
  sampleSecrets: Record<string, string>;
  /** Migration folders the init container applies (repository-relative), for a Postgres subgraph. */
  migrations?: string[];
}

interface Container extends Json {
  name?: string;
  image?: string;
  args?: string[];
  ports?: { name?: string; containerPort?: number }[];
  env?: {
    name: string;
    value?: string;
    valueFrom?: {
      secretKeyRef?: { name: string; key: string; optional?: boolean };
      configMapKeyRef?: { name: string; key: string };
    };
  }[];
  envFrom?: { configMapRef?: { name: string }; secretRef?: { name: string } }[];
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
}

function podContainers(object: KubeObject, withInit = false): Container[] {
  const spec = ((object.spec as Json | undefined)?.template as Json | undefined)?.spec as Json | undefined;
  return [
    ...((spec?.containers as Container[] | undefined) ?? []),
    ...(withInit ? ((spec?.initContainers as Container[] | undefined) ?? []) : []),
  ];
}

function initContainers(object: KubeObject): Container[] {
  const spec = ((object.spec as Json | undefined)?.template as Json | undefined)?.spec as Json | undefined;
  return (spec?.initContainers as Container[] | undefined) ?? [];
}

function selects(selector: unknown, labels: Record<string, string> | undefined): boolean {
  if (!isRecord(selector) || Object.keys(selector).length === 0) return false;
  return Object.entries(selector).every(([key, value]) => labels?.[key] === value);
}

function resolvePort(container: Container, port: unknown): number | undefined {
  if (typeof port === 'number') return port;
  return container.ports?.find((candidate) => candidate.name === port)?.containerPort;
}

/** Host names a setting makes the service connect to (URLs, Kafka brokers, the SMTP host). */
function hostsIn(key: string, value: string): string[] {
  if (key === 'KAFKA_BROKERS') return value.split(',').map((broker) => broker.trim().split(':')[0] ?? '');
  if (key === 'SMTP_HOST') return value ? [value] : [];
  if (key === 'SUBGRAPH_URLS')
    return value.split(',').flatMap((pair) => hostsIn('URL', pair.split('=')[1] ?? ''));
  if ((/URL$/.test(key) || /^OTEL_EXPORTER_OTLP_.*ENDPOINT$/.test(key)) && URL.canParse(value))
    return [new URL(value).hostname];
  return [];
}

function portsIn(key: string, value: string): { host: string; port: number }[] {
  const urls = key === 'SUBGRAPH_URLS' ? value.split(',').map((pair) => pair.split('=')[1] ?? '') : [value];
  return urls
    .filter((url) => /^https?:\/\//.test(url) && URL.canParse(url))
    .map((url) => new URL(url))
    .map((url) => ({ host: url.hostname, port: Number(url.port || (url.protocol === 'https:' ? 443 : 80)) }));
}

/**
 * Everything a deployment of the services needs beyond valid objects: per expected service a Deployment of the
 * image running its entry, probes on /health/live and /health/ready at its port, requests and limits, the
 * contract's ports (container, Service, scrape annotation), a Service, a PodDisruptionBudget and a
 * HorizontalPodAutoscaler that select it, every required setting provided and the whole env parsing with its
 * schema (HOST 0.0.0.0), ConfigMaps and Secret keys that exist, and hosts that are Services of the namespace.
 */
export function deploymentProblems(
  objects: KubeObject[],
  expected: ServiceExpectation[],
  secret: { name: string; keys: string[] },
): string[] {
  const problems: string[] = [];
  const of = (kind: string) => objects.filter((object) => object.kind === kind);
  const configMaps = new Map(
    of('ConfigMap').map((map) => [map.metadata.name, (map.data ?? {}) as Record<string, string>]),
  );
  const services = of('Service');
  const deployments = of('Deployment');
  const images = new Set(
    deployments.flatMap((deployment) => podContainers(deployment, true).map((c) => c.image)),
  );
  if (images.size !== 1)
    problems.push(`every container should run the one image, found ${[...images].join(', ')}`);

  for (const extra of deployments.filter((d) => !expected.some((e) => e.name === d.metadata.name))) {
    problems.push(`Deployment ${extra.metadata.name} is not an expected service`);
  }

  for (const service of expected) {
    const say = (message: string) => problems.push(`${service.name}: ${message}`);
    const deployment = deployments.find((d) => d.metadata.name === service.name);
    if (!deployment) {
      say('no Deployment');
      continue;
    }
    const spec = deployment.spec as Json;
    const template = spec.template as {
      metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> };
    };
    const podLabels = template?.metadata?.labels;
    if (!selects((spec.selector as Json | undefined)?.matchLabels, podLabels)) {
      say("the Deployment's selector does not select its own pods");
    }
    const container = podContainers(deployment)[0];
    if (!container || podContainers(deployment).length !== 1) {
      say('expected exactly one container');
      continue;
    }
    if (JSON.stringify(container.args) !== JSON.stringify([service.entry])) {
      say(`runs ${JSON.stringify(container.args)}, not ${service.entry}`);
    }

    // Ports: the service's own and the contract's metrics port, scraped by annotation.
    const http = container.ports?.find((p) => p.name === 'http')?.containerPort;
    const metrics = container.ports?.find((p) => p.name === 'metrics')?.containerPort;
    if (http !== service.port) say(`container port http is ${http}, not ${service.port}`);
    if (metrics !== service.metricsPort)
      say(`container port metrics is ${metrics}, not ${service.metricsPort}`);
    const annotations = template?.metadata?.annotations ?? {};
    if (
      annotations['prometheus.io/scrape'] !== 'true' ||
      annotations['prometheus.io/port'] !== String(service.metricsPort) ||
      annotations['prometheus.io/path'] !== '/metrics'
    ) {
      say(`pod annotations do not ask Prometheus to scrape :${service.metricsPort}/metrics`);
    }

    // Probes and resources.
    for (const [probe, path] of [
      ['livenessProbe', '/health/live'],
      ['readinessProbe', '/health/ready'],
    ] as const) {
      const httpGet = (container[probe] as { httpGet?: { path?: string; port?: unknown } } | undefined)
        ?.httpGet;
      if (httpGet?.path !== path) say(`${probe} is not an HTTP GET of ${path}`);
      else if (resolvePort(container, httpGet.port) !== service.port)
        say(`${probe} does not probe port ${service.port}`);
    }
    for (const resource of ['cpu', 'memory']) {
      if (!container.resources?.requests?.[resource]) say(`no ${resource} request`);
    }
    if (!container.resources?.limits?.memory) say('no memory limit');

    // Service, PodDisruptionBudget and HorizontalPodAutoscaler for these pods.
    const own = services.find((s) => s.metadata.name === service.name);
    const ownSpec = own?.spec as
      | { selector?: Json; ports?: { port?: number; targetPort?: unknown }[] }
      | undefined;
    if (!own || !selects(ownSpec?.selector, podLabels))
      say(`no Service named ${service.name} selecting its pods`);
    else {
      for (const port of [service.port, service.metricsPort]) {
        const entry = ownSpec?.ports?.find((p) => p.port === port);
        if (!entry || resolvePort(container, entry.targetPort ?? port) !== port) {
          say(`its Service does not forward port ${port} to the container's ${port}`);
        }
      }
    }
    if (
      !of('PodDisruptionBudget').some((pdb) =>
        selects(((pdb.spec as Json)?.selector as Json)?.matchLabels, podLabels),
      )
    ) {
      say('no PodDisruptionBudget selects its pods');
    }
    const hpa = of('HorizontalPodAutoscaler').find((candidate) => {
      const ref = (candidate.spec as Json)?.scaleTargetRef as Json | undefined;
      return ref?.kind === 'Deployment' && ref?.name === service.name;
    });
    if (!hpa) say('no HorizontalPodAutoscaler scales its Deployment');
    else {
      const { minReplicas = 1, maxReplicas } = hpa.spec as { minReplicas?: number; maxReplicas: number };
      if (minReplicas > maxReplicas)
        say(`autoscaler minReplicas ${minReplicas} > maxReplicas ${maxReplicas}`);
    }

    // Settings: where each comes from, that the sources exist, and that the service would start with them.
    const env: Record<string, string> = {};
    const fromSecret = new Map<string, string>();
    for (const source of container.envFrom ?? []) {
      if (source.secretRef)
        say(`envFrom secretRef ${source.secretRef.name}: name the keys with secretKeyRef`);
      const name = source.configMapRef?.name;
      if (name === undefined) continue;
      const data = configMaps.get(name);
      if (!data) say(`envFrom names ConfigMap ${name}, which is not rendered`);
      else Object.assign(env, data);
    }
    for (const variable of container.env ?? []) {
      const secretRef = variable.valueFrom?.secretKeyRef;
      const mapRef = variable.valueFrom?.configMapKeyRef;
      if (secretRef) {
        if (secretRef.name !== secret.name || !secret.keys.includes(secretRef.key)) {
          say(
            `${variable.name} comes from Secret ${secretRef.name} key ${secretRef.key}, which is not in ${secret.name}`,
          );
        }
        fromSecret.set(variable.name, secretRef.key);
        const sample = service.sampleSecrets[variable.name];
        if (sample === undefined && !secretRef.optional) say(`no sample value for ${variable.name}`);
        if (sample !== undefined) env[variable.name] = sample;
      } else if (mapRef) {
        const value = configMaps.get(mapRef.name)?.[mapRef.key];
        if (value === undefined)
          say(`${variable.name} refers to ConfigMap ${mapRef.name} key ${mapRef.key}, which does not exist`);
        else env[variable.name] = value;
      } else if (variable.value !== undefined) env[variable.name] = variable.value;
    }
    const shape = service.schema.shape;
    for (const key of Object.keys(env)) {
      if (!(key in shape) && !contractSettings.includes(key))
        say(`${key} is not a setting of ${service.name}`);
    }
    const provided = new Set([...Object.keys(env), ...fromSecret.keys()]);
    for (const [key, setting] of Object.entries(shape)) {
      if (!setting.safeParse(undefined).success && !provided.has(key))
        say(`required setting ${key} is not provided`);
    }
    const parsed = service.schema.safeParse(env);
    if (!parsed.success) {
      for (const issue of parsed.error.issues)
        say(`setting ${issue.path.map(String).join('.')}: ${issue.message}`);
    } else {
      const config = parsed.data as Record<string, unknown>;
      if (config.HOST !== '0.0.0.0') say(`HOST is ${String(config.HOST)}: a pod must listen on 0.0.0.0`);
      if (config.PORT !== service.port) say(`PORT is ${String(config.PORT)}, not ${service.port}`);
    }
    if (env.METRICS_PORT !== undefined && Number(env.METRICS_PORT) !== service.metricsPort) {
      say(`METRICS_PORT is ${env.METRICS_PORT}, not ${service.metricsPort}`);
    }
    // The Secret's sample values (.env.example) are local; only the committed settings' hosts are checked.
    for (const [key, value] of Object.entries(env).filter(([key]) => !fromSecret.has(key))) {
      for (const host of hostsIn(key, value)) {
        if (!services.some((s) => s.metadata.name === host))
          say(`${key} names host ${host}, which is no Service here`);
      }
      for (const { host, port } of portsIn(key, value)) {
        const target = services.find((s) => s.metadata.name === host);
        const ports = ((target?.spec as Json | undefined)?.ports as { port: number }[] | undefined) ?? [];
        if (target && (target.spec as Json).type !== 'ExternalName' && !ports.some((p) => p.port === port)) {
          say(`${key} calls ${host}:${port}, a port its Service does not have`);
        }
      }
    }

    // Migrations before the server: the subgraph's folders, against the same database.
    const migrate = initContainers(deployment).find((c) => c.name === 'migrate');
    if (service.migrations) {
      const args = ['packages/db/src/cli.ts', 'migrate', ...service.migrations];
      if (!migrate || JSON.stringify(migrate.args) !== JSON.stringify(args)) {
        say(`no init container migrate running ${args.join(' ')}`);
      } else {
        const databaseKey = migrate.env?.find((v) => v.name === 'DATABASE_URL')?.valueFrom?.secretKeyRef?.key;
        if (databaseKey === undefined || databaseKey !== fromSecret.get('DATABASE_URL')) {
          say('the migrate init container and the service do not use the same DATABASE_URL');
        }
      }
    } else if (migrate) say('has a migrate init container but no database');
  }
  return problems;
}

// --- the compose stack's Prometheus and Grafana ---

/** `host:port` targets of every scrape job of a Prometheus configuration. */
export function prometheusTargets(config: unknown): { job: string; metricsPath: string; target: string }[] {
  const jobs = (isRecord(config) ? config.scrape_configs : undefined) as
    | { job_name: string; metrics_path?: string; static_configs?: { targets?: string[] }[] }[]
    | undefined;
  return (jobs ?? []).flatMap((job) =>
    (job.static_configs ?? []).flatMap((group) =>
      (group.targets ?? []).map((target) => ({
        job: job.job_name,
        metricsPath: job.metrics_path ?? '/metrics',
        target,
      })),
    ),
  );
}

/** Names PromQL may use that are not metrics: functions, aggregations, keywords, Grafana's variables. */
const promqlWords = new Set([
  'sum',
  'min',
  'max',
  'avg',
  'count',
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'and',
  'or',
  'unless',
  'rate',
  'irate',
  'increase',
  'delta',
  'idelta',
  'histogram_quantile',
  'topk',
  'bottomk',
  'quantile',
  'sort',
  'sort_desc',
  'abs',
  'clamp_min',
  'clamp_max',
  'time',
  'vector',
  'scalar',
  'offset',
  'max_over_time',
  'min_over_time',
  'avg_over_time',
  'sum_over_time',
  'label_replace',
  'absent',
  'bool',
]);

const histogramSeries = /_(bucket|sum|count)$/;

/** `x_bucket`, `x_sum`, `x_count` are series of the histogram x; other names stand for themselves. */
function metricOfSeries(series: string): string {
  const histogram = series.replace(histogramSeries, '');
  return histogram !== series && contractMetrics[histogram]?.type === 'histogram' ? histogram : series;
}

/** The metric names (histogram series folded to their metric) and the labels one PromQL expression uses. */
export function promqlNames(expr: string): { metrics: string[]; labels: string[] } {
  const withoutStrings = expr.replace(/"(?:[^"\\]|\\.)*"/g, '""');
  const grouping = [...withoutStrings.matchAll(/\b(?:by|without|on|ignoring)\s*\(([^)]*)\)/g)].flatMap(
    (match) => (match[1] ?? '').split(','),
  );
  const matchers = [...withoutStrings.matchAll(/\{([^}]*)\}/g)].flatMap((match) =>
    (match[1] ?? '').split(',').map((matcher) => matcher.split(/[=!]/)[0] ?? ''),
  );
  const labels = [...grouping, ...matchers].map((label) => label.trim()).filter(Boolean);
  const bare = withoutStrings
    .replace(/\b(?:by|without|on|ignoring)\s*\([^)]*\)/g, ' ')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\$\w+/g, ' ');
  const metrics = [...bare.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)]
    .map((match) => match[0])
    .filter((word) => !promqlWords.has(word))
    .map(metricOfSeries);
  return { metrics: [...new Set(metrics)], labels: [...new Set(labels)] };
}

/** Every query of a Grafana dashboard: metrics of the contract only, grouped by labels those metrics carry. */
export function dashboardProblems(
  dashboard: unknown,
  datasourceUid: string,
): { problems: string[]; metrics: Set<string> } {
  const problems: string[] = [];
  const used = new Set<string>();
  const panels = ((isRecord(dashboard) ? dashboard.panels : undefined) ?? []) as {
    title?: string;
    datasource?: { uid?: string };
    targets?: { expr?: string; datasource?: { uid?: string } }[];
  }[];
  if (panels.length === 0) problems.push('the dashboard has no panels');
  for (const panel of panels) {
    const title = panel.title ?? '(untitled)';
    if (!panel.targets?.length) problems.push(`${title}: no queries`);
    for (const target of panel.targets ?? []) {
      const uid = target.datasource?.uid ?? panel.datasource?.uid;
      if (uid !== datasourceUid)
        problems.push(`${title}: datasource ${uid}, not the provisioned ${datasourceUid}`);
      const { metrics, labels: usedLabels } = promqlNames(target.expr ?? '');
      if (metrics.length === 0) problems.push(`${title}: "${target.expr}" queries no metric`);
      for (const metric of metrics) {
        if (!(metric in contractMetrics))
          problems.push(`${title}: ${metric} is not a metric of the contract`);
        else used.add(metric);
      }
      const labels = new Set(['service', 'le', ...metrics.flatMap((m) => contractMetrics[m]?.labels ?? [])]);
      for (const label of usedLabels) {
        if (!labels.has(label))
          problems.push(`${title}: uses label ${label}, which ${metrics.join(', ')} do not carry`);
      }
    }
  }
  return { problems, metrics: used };
}

/** A path an Ingress must route, and to which Service port (by name). */
export interface IngressRoute {
  path: string;
  service: string;
  port: string;
}

type IngressPath = {
  path?: string;
  pathType?: string;
  backend?: { service?: { name?: string; port?: { name?: string; number?: number } } };
};

/**
 * The way in: every expected route is an exact path of some Ingress to that Service's named port, every
 * backend is a Service of the namespace with that port (not an ExternalName), and nothing else is routed.
 */
export function ingressProblems(objects: KubeObject[], expected: IngressRoute[]): string[] {
  const problems: string[] = [];
  const services = objects.filter((object) => object.kind === 'Service');
  const routed = objects
    .filter((object) => object.kind === 'Ingress')
    .flatMap((ingress) =>
      (
        ((ingress.spec as Json | undefined)?.rules as { http?: { paths?: IngressPath[] } }[] | undefined) ??
        []
      )
        .flatMap((rule) => rule.http?.paths ?? [])
        .map((path) => ({ ingress: ingress.metadata.name, ...path })),
    );
  for (const route of routed) {
    const name = route.backend?.service?.name;
    const port = route.backend?.service?.port;
    const target = services.find((service) => service.metadata.name === name);
    const ports =
      ((target?.spec as Json | undefined)?.ports as { name?: string; port: number }[] | undefined) ?? [];
    if (!target || (target.spec as Json).type === 'ExternalName') {
      problems.push(`Ingress ${route.ingress} ${route.path}: no Service ${name} of the namespace`);
    } else if (
      !ports.some((p) => (port?.name !== undefined ? p.name === port.name : p.port === port?.number))
    ) {
      problems.push(
        `Ingress ${route.ingress} ${route.path}: Service ${name} has no port ${port?.name ?? port?.number}`,
      );
    }
    if (!expected.some((e) => e.path === route.path)) {
      problems.push(`Ingress ${route.ingress} routes ${route.path}, which is not an expected route`);
    }
  }
  for (const route of expected) {
    const found = routed.find((candidate) => candidate.path === route.path);
    if (!found) problems.push(`no Ingress routes ${route.path}`);
    else if (
      found.pathType !== 'Exact' ||
      found.backend?.service?.name !== route.service ||
      found.backend?.service?.port?.name !== route.port
    ) {
      problems.push(`${route.path} should go (Exact) to ${route.service}:${route.port}`);
    }
  }
  return problems;
}
