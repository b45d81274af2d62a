import { randomUUID } from 'node:crypto';
import { postGraphQL } from './subgraph';

// Per-domain factories: each test seeds its own data through the public API, so tests run concurrently
// and never depend on each other's rows. They work against a subgraph or the gateway alike (any /graphql URL
// that serves the operation).

let counter = 0;
const unique = () => `${process.pid}-${Date.now()}-${++counter}-${randomUUID().slice(0, 4)}`;

/** An email no other test uses. */
export function uniqueEmail(label = 'user'): string {
  return `${label}-${unique()}@example.com`;
}

/** A SKU no other test uses (upper case, as products stores it). */
export function uniqueSku(label = 'SKU'): string {
  return `${label}-${unique()}`.toUpperCase();
}

export interface RegisteredUser {
  accessToken: string;
  refreshToken: string;
  accessTokenExpiresAt: string;
  refreshTokenExpiresAt: string;
  user: { id: string; email: string; name: string; role: 'CUSTOMER' | 'ADMIN' };
  password: string;
}

const REGISTER = `mutation Register($input: RegisterInput!) {
  register(input: $input) {
    accessToken accessTokenExpiresAt refreshToken refreshTokenExpiresAt user { id email name role }
  }
}`;

/** Registers a customer through the API (fails the test on any error). */
export async function registerUser(
  url: string,
  input: { email?: string; password?: string; name?: string } = {},
): Promise<RegisteredUser> {
  const password = input.password ?? 'correct horse battery';
  const response = await postGraphQL<{ register: Omit<RegisteredUser, 'password'> }>(url, REGISTER, {
    input: { email: input.email ?? uniqueEmail(), password, name: input.name ?? 'Test User' },
  });
  if (!response.data?.register) throw new Error(`register failed: ${JSON.stringify(response.errors)}`);
  return { ...response.data.register, password };
}

export interface CreatedProduct {
  id: string;
  name: string;
  description: string | null;
  sku: string;
  price: { amount: string; currency: string };
  active: boolean;
  createdAt: string;
  updatedAt: string;
}

const CREATE_PRODUCT = `mutation CreateProduct($input: CreateProductInput!) {
  createProduct(input: $input) {
    id name description sku price { amount currency } active createdAt updatedAt
  }
}`;

/** Creates a product as an admin through the API (fails the test on any error). */
export async function createProduct(
  url: string,
  adminToken: string,
  input: { name?: string; sku?: string; price?: string; description?: string | null } = {},
): Promise<CreatedProduct> {
  const response = await postGraphQL<{ createProduct: CreatedProduct }>(
    url,
    CREATE_PRODUCT,
    { input: { name: 'Test product', sku: uniqueSku(), price: '9.99', ...input } },
    adminToken,
  );
  if (!response.data?.createProduct) {
    throw new Error(`createProduct failed: ${JSON.stringify(response.errors)}`);
  }
  return response.data.createProduct;
}
