import type { RequestContext } from '@shop/kit';
import type { CartService } from './cart.service';

/** What every cart resolver receives: the verified viewer (if any) plus the service. */
export type Context = RequestContext & {
  carts: CartService;
};

/** A fresh context per request. */
export function createContext(carts: CartService) {
  return (base: RequestContext): Context => ({ ...base, carts });
}
