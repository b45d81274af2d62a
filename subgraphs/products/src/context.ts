import type { RequestContext } from '@shop/kit';
import DataLoader from 'dataloader';
import type { ProductRecord } from './products.repository';
import type { ProductsService } from './products.service';

/** Per request, so one request's batches and cache never serve another (whose viewer may differ). */
export interface ProductLoaders {
  /** Batches every id asked for in one tick (an `_entities` call) into one query. */
  productById: DataLoader<string, ProductRecord | null>;
}

export type Context = RequestContext & {
  loaders: ProductLoaders;
  products: ProductsService;
};

export function createProductLoaders(products: ProductsService): ProductLoaders {
  return { productById: new DataLoader((ids) => products.productsByIds(ids)) };
}
