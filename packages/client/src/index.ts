export { ShopClient, ShopClientError, type ShopResult } from './client';
export * from './generated/graphql';
