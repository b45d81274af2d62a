import { describe, expect, it } from 'vitest';
import { BoundedLabel, MAX_OPERATION_NAMES, ServiceMetrics } from './metrics';

describe('the bounded operation-name label', () => {
  it('keeps the first names it sees, then answers `other`; anonymous when there is none', () => {
    const label = new BoundedLabel(3, 'anonymous');
    expect(['A', 'B', 'A', 'C'].map((name) => label.of(name))).toEqual(['A', 'B', 'A', 'C']);
    expect(label.of('D')).toBe('other');
    expect(label.of('B')).toBe('B');
    expect([undefined, null, ''].map((name) => label.of(name))).toEqual([
      'anonymous',
      'anonymous',
      'anonymous',
    ]);
  });

  it('never takes an id-like or malformed name (they would fill the bound with ids)', () => {
    const label = new BoundedLabel(10, 'anonymous');
    for (const name of [
      'Order_5f1e2d3c',
      'order123456',
      '3f0c2a1e-77aa-4c59-9b0e-0a1b2c3d4e5f',
      'with space',
      'x'.repeat(101),
      'a@b.c',
    ]) {
      expect(label.of(name), name).toBe('other');
    }
    expect(label.of('Checkout__orders__0')).toBe('Checkout__orders__0');
  });

  it('holds at most MAX_OPERATION_NAMES distinct operation names in a service', async () => {
    const metrics = new ServiceMetrics('test', { defaultMetrics: false });
    for (let i = 0; i < MAX_OPERATION_NAMES + 50; i++) {
      metrics.observeOperation({
        name: `Op${String.fromCharCode(65 + (i % 26))}${Math.floor(i / 26)}`,
        type: 'query',
        seconds: 0.01,
      });
    }
    metrics.observeOperation({ name: undefined, type: 'query', seconds: 0.01 });
    const text = await metrics.scrape();
    const names = new Set(
      [...text.matchAll(/shop_graphql_operations_total\{[^}]*operation_name="([^"]+)"/g)].map((m) => m[1]),
    );
    expect(names.size).toBe(MAX_OPERATION_NAMES + 2); // the bound, `other` and `anonymous`
    expect(names.has('other') && names.has('anonymous')).toBe(true);
    expect(text).toContain('service="test"');
  });

  it('counts an operation with errors as an error, and each error by code', async () => {
    const metrics = new ServiceMetrics('test', { defaultMetrics: false });
    metrics.observeOperation({
      name: 'Pay',
      type: 'mutation',
      seconds: 0.2,
      errors: [{ extensions: { code: 'CONFLICT' } }, { extensions: {} }],
    });
    const text = await metrics.scrape();
    expect(text).toContain(
      'shop_graphql_operations_total{operation_name="Pay",operation_type="mutation",outcome="error",service="test"} 1',
    );
    expect(text).toContain('shop_graphql_errors_total{code="CONFLICT",service="test"} 1');
    expect(text).toContain('shop_graphql_errors_total{code="INTERNAL_SERVER_ERROR",service="test"} 1');
  });
});
