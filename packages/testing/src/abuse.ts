// The abusive operations of issue 14, shared by the cost model's unit test and the end-to-end abuse tests.

/** Every field of a product a client can select without another subgraph. */
export const productFields = 'id name description sku active price { amount currency }';

/** `count` aliases of a full page of products with its total (1,000 of them: ~118 KB, millions in cost). */
export function aliasedProductPages(count: number): string {
  const page = `products(first: 100) { totalCount edges { node { ${productFields} } } }`;
  return `{ ${Array.from({ length: count }, (_, i) => `p${i}: ${page}`).join(' ')} }`;
}

/** `count` aliases of a fragment holding `counts` aliased totalCounts (400 × 100: 40,000 COUNT queries). */
export function aliasedTotalCounts(count: number, counts: number): string {
  const roots = Array.from({ length: count }, (_, i) => `p${i}: products { ...Counts }`).join(' ');
  const totals = Array.from({ length: counts }, (_, i) => `c${i}: totalCount`).join(' ');
  return `{ ${roots} } fragment Counts on ProductConnection { ${totals} }`;
}
