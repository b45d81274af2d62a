import { createByIdLoader, type RequestContext } from '@shop/kit';
import type DataLoader from 'dataloader';
import type { ProductRecord, ProductsRepository } from './products.repository';
import type { ProductsService } from './products.service';

/** What every products resolver receives: the verified viewer plus per-request loaders and the service. */
export type Context = RequestContext & {
  loaders: { productById: DataLoader<string, ProductRecord | null> };
  products: ProductsService;
};

/** A fresh context per request (and per subscription operation): loaders never outlive their caller. */
export function createContext(products: ProductsService, repository: ProductsRepository) {
  return (base: RequestContext): Context => ({
    ...base,
    products,
    // Inactive products are filtered after loading (ProductsService.referencedProduct): one query per batch.
    loaders: { productById: createByIdLoader((ids) => repository.findByIds(ids)) },
  });
}
