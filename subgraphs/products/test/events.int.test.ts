import { randomUUID } from 'node:crypto';
import { parseEnvelope } from '@shop/events';
import { createProduct, waitFor } from '@shop/testing';
import { describe, expect, it } from 'vitest';
import { useProducts } from './support';

const products = useProducts();

const UPDATE = `mutation Update($id: ID!, $input: UpdateProductInput!) { updateProduct(id: $id, input: $input) { id } }`;

describe('product.changed', () => {
  it('is published once per create and update, with the product as it now is, after the commit', async () => {
    const kafka = products.kafka;
    if (!kafka) throw new Error('products uses kafka');
    const topic = await kafka.readTopic(kafka.connection.topic('product.changed'));
    const created = await createProduct(products.url, products.adminToken, { price: '5.00' });
    await products.post(UPDATE, { id: created.id, input: { price: '6.50', active: false } }, 'admin');

    const ours = () =>
      topic.messages
        .map((m) => parseEnvelope(m.value))
        .filter((e) => 'productId' in e.data && e.data.productId === created.id);
    await waitFor('both events', () => ours().length >= 2);
    const [first, second] = ours();
    expect(first).toMatchObject({
      type: 'product.changed',
      source: 'products',
      data: { change: 'CREATED', sku: created.sku, price: { amount: '5.00', currency: 'USD' }, active: true },
    });
    expect(second?.data).toMatchObject({
      change: 'UPDATED',
      price: { amount: '6.50', currency: 'USD' },
      active: false,
    });
    // Keyed by the product, so one product's changes stay in order.
    expect(topic.messages.filter((m) => m.key?.toString() === created.id)).toHaveLength(2);
  });

  it('publishes nothing when the change is refused', async () => {
    const before = await products.prisma.$queryRaw<
      { n: number }[]
    >`SELECT count(*)::int AS n FROM outbox_events`;
    const refused = await products.post(UPDATE, { id: randomUUID(), input: { name: 'Ghost' } }, 'admin');
    expect(refused.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    const duplicate = await createProduct(products.url, products.adminToken);
    const again = await products.post(
      'mutation C($input: CreateProductInput!) { createProduct(input: $input) { id } }',
      { input: { name: 'Again', sku: duplicate.sku, price: '1.00' } },
      'admin',
    );
    expect(again.errors?.[0]?.extensions?.code).toBe('CONFLICT');
    const after = await products.prisma.$queryRaw<
      { n: number }[]
    >`SELECT count(*)::int AS n FROM outbox_events`;
    // Only the successful create of `duplicate` wrote an event.
    expect((after[0]?.n ?? 0) - (before[0]?.n ?? 0)).toBe(1);
  });
});
