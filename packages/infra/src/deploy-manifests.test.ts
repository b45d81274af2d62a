import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { readEnvFile, ServiceMetrics } from '@shop/kit';
import { subgraphMigrations } from '@shop/runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { gatewayEnvSchema } from '../../../gateway/src/config';
import {
  contractMetrics,
  contractMetricsPorts,
  dashboardProblems,
  deploymentProblems,
  type IngressRoute,
  ingressProblems,
  type KubeObject,
  prometheusTargets,
  renderKustomization,
  type ServiceExpectation,
  schemaProblems,
} from './deploy-manifests';
import { projectRoot } from './paths';
import { GATEWAY_PORT, loadSubgraphs, subgraphDir } from './registry';

const k8s = join(projectRoot, 'deploy', 'k8s');
const secretKeys = Object.keys(readEnvFile(join(k8s, 'secrets.example.env')));
const secret = { name: 'shop-secrets', keys: secretKeys };

let expected: ServiceExpectation[];
const rendered: Record<'base' | 'local', KubeObject[]> = { base: [], local: [] };

beforeAll(async () => {
  const subgraphs = await loadSubgraphs();
  expected = [
    {
      name: 'gateway',
      port: GATEWAY_PORT,
      metricsPort: contractMetricsPorts.gateway as number,
      entry: 'gateway/src/index.ts',
      schema: gatewayEnvSchema,
      sampleSecrets: readEnvFile(join(projectRoot, 'gateway', '.env.example')),
    },
    ...subgraphs.map((subgraph) => ({
      name: subgraph.name,
      port: subgraph.env.port,
      metricsPort: contractMetricsPorts[subgraph.name] as number,
      entry: `subgraphs/${subgraph.name}/src/index.ts`,
      schema: subgraph.env.schema,
      sampleSecrets: readEnvFile(join(subgraphDir(subgraph.name), '.env.example')),
      ...(subgraph.migrationsDir
        ? { migrations: subgraphMigrations(subgraph).map((dir) => relative(projectRoot, dir)) }
        : {}),
    })),
  ];
  rendered.base = renderKustomization(join(k8s, 'base'));
  rendered.local = renderKustomization(join(k8s, 'overlays', 'local'));
});

/** The parts of rendered objects these tests read and break. */
interface Rendered extends KubeObject {
  spec: {
    replicas?: unknown;
    minReplicas?: number;
    externalName?: string;
    selector?: unknown;
    template: { metadata: { labels: Record<string, string> }; spec: { containers: Container[] } };
  };
  data: Record<string, string>;
}
type Container = { env: { name: string }[] } & Record<string, unknown>;

function byName(objects: KubeObject[], kind: string, name: string): Rendered {
  const object = objects.find((candidate) => candidate.kind === kind && candidate.metadata.name === name);
  if (!object) throw new Error(`no ${kind} ${name}`);
  return object as Rendered;
}

function containerOf(objects: KubeObject[], deployment: string): Container {
  const [container] = byName(objects, 'Deployment', deployment).spec.template.spec.containers;
  if (!container) throw new Error(`${deployment} has no container`);
  return container;
}

describe('deploy/k8s, rendered offline', () => {
  it('the local overlay puts every object in namespace shop, runs the built image, one replica each', () => {
    const { local } = rendered;
    const deployments = local.filter((o) => o.kind === 'Deployment').map((o) => o.metadata.name);
    expect(deployments.sort()).toEqual(expected.map((service) => service.name).sort());
    for (const object of local.filter((o) => o.kind !== 'Namespace')) {
      expect(object.metadata.namespace, object.kind).toBe('shop');
      expect(object.metadata.labels?.['app.kubernetes.io/part-of']).toBe('shop-supergraph');
    }
    const users = byName(local, 'Deployment', 'users');
    expect(users.spec.replicas).toBe(1);
    expect(JSON.stringify(users)).toContain('"image":"shop-supergraph:local"');
    expect(users.spec.template.metadata.labels['app.kubernetes.io/part-of']).toBe('shop-supergraph');
    expect(byName(local, 'HorizontalPodAutoscaler', 'users').spec.minReplicas).toBe(1);
    expect(byName(local, 'Service', 'kafka').spec.externalName).toBe('host.docker.internal');
    expect(byName(local, 'ConfigMap', 'notifications-config').data.SMTP_PORT).toBe('1025');
    // The overlay changed its own copy: the base still has two replicas and the placeholder hosts.
    expect(byName(rendered.base, 'Deployment', 'users').spec.replicas).toBe(2);
    expect(byName(rendered.base, 'Service', 'kafka').spec.externalName).toBe(
      'kafka.shop-infra.svc.cluster.local',
    );
  });

  it.each(['base', 'local'] as const)('%s: every object is valid against the Kubernetes schemas', (which) => {
    expect(rendered[which].length).toBeGreaterThan(30);
    expect(schemaProblems(rendered[which])).toEqual([]);
  });

  it.each(['base', 'local'] as const)(
    '%s: each service has probes, resources, a Service, a PDB, an HPA, its settings and the contract ports',
    (which) => {
      expect(deploymentProblems(rendered[which], expected, secret)).toEqual([]);
    },
  );

  it('the gateway reaches every subgraph of the supergraph at its Service, and every Secret key is used', () => {
    const supergraph = readFileSync(join(projectRoot, 'schema', 'supergraph.graphql'), 'utf8');
    const composed = [...supergraph.matchAll(/@join__graph\(name: "([^"]+)"/g)].map((m) => m[1]).sort();
    const config = byName(rendered.local, 'ConfigMap', 'gateway-config').data;
    expect(existsSync(join(projectRoot, config.SUPERGRAPH_PATH ?? 'none'))).toBe(true);
    const urls = gatewayEnvSchema.shape.SUBGRAPH_URLS.parse(config.SUBGRAPH_URLS);
    expect(Object.keys(urls).sort()).toEqual(composed);
    for (const [name, url] of Object.entries(urls)) {
      const subgraph = expected.find((service) => service.name === name);
      expect(url).toBe(`http://${name}:${subgraph?.port}/graphql`);
    }
    const referenced = new Set(
      [
        ...JSON.stringify(rendered.local).matchAll(/"secretKeyRef":\{"name":"shop-secrets","key":"(\w+)"/g),
      ].map((m) => m[1]),
    );
    expect([...referenced].sort()).toEqual([...secretKeys].sort());
  });

  it('the image holds what the pods run: entry files, migrations and the supergraph, none left out by .dockerignore', () => {
    const dockerfile = readFileSync(join(projectRoot, 'Dockerfile'), 'utf8');
    expect(dockerfile).toContain('ENTRYPOINT ["node", "--import", "tsx"]');
    const ignored = readFileSync(join(projectRoot, '.dockerignore'), 'utf8')
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line && !line.startsWith('#'));
    const isIgnored = (path: string) =>
      ignored.some((pattern) =>
        pattern.startsWith('**/')
          ? `/${path}/`.includes(`/${pattern.slice(3)}/`)
          : `${path}/`.startsWith(`${pattern}/`),
      );
    const needed = [
      'schema/supergraph.graphql',
      ...expected.flatMap((service) => [service.entry, ...(service.migrations ?? [])]),
    ];
    for (const path of needed) {
      expect(existsSync(join(projectRoot, path)), path).toBe(true);
      expect(isIgnored(path), path).toBe(false);
    }
    expect(isIgnored('subgraphs/users/node_modules/x')).toBe(true);
  });

  it('fails a Deployment with a string replica count and no selector (kubernetes-models)', () => {
    const broken = structuredClone(byName(rendered.local, 'Deployment', 'users'));
    (broken.spec as Record<string, unknown>).replicas = '2';
    delete (broken.spec as Record<string, unknown>).selector;
    const problems = schemaProblems([broken]).join('\n');
    expect(problems).toContain('replicas must be integer');
    expect(problems).toContain('must have required property selector');
    expect(schemaProblems([{ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'x' } }])).toEqual([
      'Pod/x: kind v1/Pod is not validated here',
    ]);
  });

  it('fails a rendering whose probes, settings, ports or selectors are wrong (cross-checks)', () => {
    const objects = structuredClone(rendered.local);
    delete containerOf(objects, 'users').readinessProbe;
    const orders = containerOf(objects, 'orders');
    orders.env = orders.env.filter((variable) => variable.name !== 'JWT_PUBLIC_KEY');
    byName(objects, 'ConfigMap', 'gateway-config').data.METRICS_PORT = '9499';
    byName(objects, 'ConfigMap', 'shop-config').data.HOST = '127.0.0.1';
    byName(objects, 'PodDisruptionBudget', 'cart').spec.selector = {
      matchLabels: { 'app.kubernetes.io/name': 'carts' },
    };
    const problems = deploymentProblems(objects, expected, secret);
    expect(problems).toEqual(
      expect.arrayContaining([
        'users: readinessProbe is not an HTTP GET of /health/ready',
        'orders: required setting JWT_PUBLIC_KEY is not provided',
        'gateway: METRICS_PORT is 9499, not 9400',
        'products: HOST is 127.0.0.1: a pod must listen on 0.0.0.0',
        'cart: no PodDisruptionBudget selects its pods',
      ]),
    );
  });

  // Clients reach the gateway (HTTP and websocket on one path) and Stripe reaches payments' webhook; nothing else.
  const routes: IngressRoute[] = [
    { path: '/graphql', service: 'gateway', port: 'http' },
    { path: '/webhooks/stripe', service: 'payments', port: 'http' },
  ];

  it.each(['base', 'local'] as const)(
    '%s: the Ingress routes /graphql and the Stripe webhook only',
    (which) => {
      expect(ingressProblems(rendered[which], routes)).toEqual([]);
    },
  );

  it('fails an Ingress that routes to a missing port or an unexpected path', () => {
    const objects = structuredClone(rendered.local);
    const ingress = byName(objects, 'Ingress', 'shop') as unknown as {
      spec: {
        rules: { http: { paths: { path: string; backend: { service: { port: { name: string } } } }[] } }[];
      };
    };
    const [graphql, webhook] = ingress.spec.rules[0]?.http.paths ?? [];
    if (!graphql || !webhook) throw new Error('the Ingress has no paths');
    graphql.backend.service.port.name = 'metrics-x';
    webhook.path = '/metrics';
    expect(ingressProblems(objects, routes)).toEqual([
      'Ingress shop /graphql: Service gateway has no port metrics-x',
      'Ingress shop routes /metrics, which is not an expected route',
      '/graphql should go (Exact) to gateway:http',
      'no Ingress routes /webhooks/stripe',
    ]);
  });

  it('sends traces to the collector Service: the otel-collector name in base, the host in the local overlay', () => {
    for (const which of ['base', 'local'] as const) {
      const endpoint = byName(rendered[which], 'ConfigMap', 'shop-config').data.OTEL_EXPORTER_OTLP_ENDPOINT;
      expect(endpoint).toBe('http://otel-collector:4318');
    }
    expect(byName(rendered.local, 'Service', 'otel-collector').spec.externalName).toBe(
      'host.docker.internal',
    );
    const objects = structuredClone(rendered.local);
    byName(objects, 'ConfigMap', 'shop-config').data.OTEL_EXPORTER_OTLP_ENDPOINT = 'http://jaeger:4318';
    expect(deploymentProblems(objects, expected, secret)).toContain(
      'users: OTEL_EXPORTER_OTLP_ENDPOINT names host jaeger, which is no Service here',
    );
  });

  describe('the renderer refuses what it does not implement', () => {
    let dir: string;
    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), 'kustomize-'));
      writeFileSync(
        join(dir, 'map.yaml'),
        'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  A: "1"\n',
      );
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    const renderWith = (kustomization: string) => {
      const resources = kustomization.includes('resources:') ? '' : 'resources:\n  - map.yaml\n';
      writeFileSync(join(dir, 'kustomization.yaml'), `${resources}${kustomization}`);
      return () => renderKustomization(dir);
    };

    it.each([
      [
        'a generator',
        'configMapGenerator:\n  - name: x\n    literals: [A=1]\n',
        /unsupported field\(s\) configMapGenerator/,
      ],
      ['commonLabels', 'commonLabels:\n  a: b\n', /unsupported field\(s\) commonLabels/],
      ['labels on selectors', 'labels:\n  - pairs: {a: b}\n    includeSelectors: true\n', /includeSelectors/],
      [
        'a strategic merge patch',
        'patches:\n  - target: {kind: ConfigMap}\n    patch: "data: {A: \\"2\\"}"\n',
        /JSON 6902/,
      ],
      [
        'a patch that matches nothing',
        'patches:\n  - target: {kind: Deployment}\n    patch: "[]"\n',
        /matches nothing/,
      ],
      ['a remote resource', 'resources:\n  - https://example.com/x.yaml\n', /only local files/],
    ])('%s', (_what, kustomization, error) => {
      expect(renderWith(kustomization)).toThrow(error);
    });

    it('and applies what it does: a JSON patch, namespace, labels', () => {
      const [map] = renderWith(
        'namespace: n\nlabels:\n  - pairs: {team: shop}\npatches:\n  - target: {kind: ConfigMap, name: settings}\n    patch: |\n      - op: add\n        path: /data/B\n        value: "2"\n      - op: remove\n        path: /data/A\n',
      )();
      expect(map).toEqual({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'settings', namespace: 'n', labels: { team: 'shop' } },
        data: { B: '2' },
      });
    });
  });
});

describe('docker compose: Prometheus, Grafana, Jaeger', () => {
  const compose = parse(readFileSync(join(projectRoot, 'docker-compose.yml'), 'utf8')) as {
    services: Record<string, { ports?: string[]; volumes?: string[]; extra_hosts?: string[] }>;
  };

  it('publishes the new services on 127.0.0.1 only, Jaeger with OTLP and its UI, mounts files that exist', () => {
    for (const name of ['prometheus', 'grafana', 'jaeger']) {
      const service = compose.services[name];
      expect(service, name).toBeDefined();
      for (const port of service?.ports ?? []) expect(port).toMatch(/^127\.0\.0\.1:\d+:\d+$/);
      for (const volume of service?.volumes ?? []) {
        const source = volume.split(':')[0] as string;
        if (source.startsWith('./')) expect(existsSync(join(projectRoot, source)), source).toBe(true);
      }
    }
    const containerPorts = (name: string) =>
      (compose.services[name]?.ports ?? []).map((p) => Number(p.split(':')[2]));
    expect(containerPorts('jaeger').sort((a, b) => a - b)).toEqual([4317, 4318, 16686]);
    expect(containerPorts('prometheus')).toEqual([9090]);
    expect(compose.services.prometheus?.extra_hosts).toContain('host.docker.internal:host-gateway');
    // Grafana is not on 3000, the gateway's port.
    expect(compose.services.grafana?.ports).toEqual(['127.0.0.1:3300:3000']);
  });

  it("Prometheus scrapes every service's metrics port of the contract on the host", () => {
    const config = parse(readFileSync(join(projectRoot, 'deploy', 'prometheus', 'prometheus.yml'), 'utf8'));
    const targets = prometheusTargets(config);
    expect(targets.every((target) => target.metricsPath === '/metrics')).toBe(true);
    expect(targets.map((target) => target.target).sort()).toEqual(
      Object.values(contractMetricsPorts)
        .map((port) => `host.docker.internal:${port}`)
        .sort(),
    );
  });

  it('the dashboard queries only metrics of the contract, with their labels, from the provisioned datasource', () => {
    const datasources = parse(
      readFileSync(
        join(projectRoot, 'deploy', 'grafana', 'provisioning', 'datasources', 'prometheus.yml'),
        'utf8',
      ),
    ) as { datasources: { uid: string; url: string }[] };
    const [datasource] = datasources.datasources;
    expect(datasource?.url).toBe(`http://prometheus:${containerPortOf('prometheus')}`);
    const dashboard = JSON.parse(
      readFileSync(join(projectRoot, 'deploy', 'grafana', 'dashboards', 'shop-supergraph.json'), 'utf8'),
    );
    const { problems, metrics } = dashboardProblems(dashboard, datasource?.uid ?? '');
    expect(problems).toEqual([]);
    // What the issue asks to see: RPS, p99, errors by code, lag, outbox, dead letters, subscriptions, emails.
    for (const metric of [
      'shop_graphql_operations_total',
      'shop_graphql_operation_duration_seconds',
      'shop_graphql_errors_total',
      'shop_kafka_consumer_lag',
      'shop_outbox_backlog',
      'shop_outbox_oldest_unpublished_age_seconds',
      'shop_dead_letters_total',
      'shop_subscriptions_active',
      'shop_emails_sent_total',
      'shop_emails_failed_total',
    ]) {
      expect(metrics, metric).toContain(metric);
      expect(contractMetrics[metric]).toBeDefined();
    }

    function containerPortOf(name: string): number {
      return Number(compose.services[name]?.ports?.[0]?.split(':')[2]);
    }
  });

  it('holds the contract the code registers: the same metric names, types and labels', async () => {
    // The dashboard and Prometheus are checked against contractMetrics; this keeps that list true to the code.
    const metrics = new ServiceMetrics('contract', { defaultMetrics: false });
    metrics.gateway();
    metrics.events();
    metrics.inventory();
    metrics.notifications();
    const registered = Object.fromEntries(
      await Promise.all(
        metrics.registry.getMetricsAsArray().map(async (object) => {
          // prom-client's MetricObject type leaves out what every metric has: get() and its label names.
          const metric = object as unknown as {
            get(): Promise<{ name: string; type: string }>;
            labelNames?: readonly string[];
          };
          const { name, type } = await metric.get();
          const labels = [...(metric.labelNames ?? [])];
          return [name, { type, labels }] as const;
        }),
      ),
    );
    expect(registered).toEqual(contractMetrics);
  });

  it('fails a dashboard that queries a metric or a label outside the contract', () => {
    const dashboard = {
      panels: [
        {
          title: 'typo',
          datasource: { uid: 'prometheus' },
          targets: [
            { expr: 'sum(rate(shop_graphql_operation_total[5m]))' },
            { expr: 'sum by (user_id) (rate(shop_graphql_errors_total[5m]))' },
            { expr: 'rate(shop_graphql_errors_total_bucket[5m])' },
          ],
        },
      ],
    };
    expect(dashboardProblems(dashboard, 'prometheus').problems).toEqual([
      'typo: shop_graphql_operation_total is not a metric of the contract',
      'typo: uses label user_id, which shop_graphql_errors_total do not carry',
      'typo: shop_graphql_errors_total_bucket is not a metric of the contract',
    ]);
  });
});
