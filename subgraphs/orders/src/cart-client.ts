import { AppError, DependencyUnavailable, type ErrorCode } from '@shop/kit';
import { z } from 'zod';

/** The cart subgraph did not answer usefully (down, slow, garbage): SERVICE_UNAVAILABLE for the client. */
export class CartUnavailable extends DependencyUnavailable {
  constructor(reason: string, options?: { cause?: unknown }) {
    super('cart', reason, options);
    this.name = 'CartUnavailable';
  }
}

/** A line of the caller's cart: only what checkout needs (prices come from the catalogue, not the cart). */
export interface CartLine {
  productId: string;
  quantity: number;
}

// The exact shape the cart subgraph serves for checkout (agreed with it).
const CHECKOUT_CART = `query CheckoutCart($guestCartId: ID) { cart(guestCartId: $guestCartId) { id items { quantity product { id } } } }`;

const answer = z.object({
  data: z
    .object({
      cart: z
        .object({
          id: z.string(),
          items: z.array(z.object({ quantity: z.number().int(), product: z.object({ id: z.string() }) })),
        })
        .nullable(),
    })
    .nullable()
    .optional(),
  errors: z
    .array(
      z.object({ message: z.string(), extensions: z.object({ code: z.string().optional() }).optional() }),
    )
    .optional(),
});

// The cart's refusals a client can act on travel on with their code; anything else is our failure.
const passedOn = new Set<ErrorCode>(['BAD_USER_INPUT', 'UNAUTHENTICATED', 'FORBIDDEN', 'NOT_FOUND']);

/** Reads the caller's cart from the cart subgraph (CART_URL), with the caller's own token. */
export class CartReader {
  constructor(private readonly options: { url: string; timeoutMs: number }) {}

  /** The cart's lines; an empty list for an empty (or absent) cart. */
  async lines(token: string, guestCartId: string | undefined): Promise<CartLine[]> {
    let response: Response;
    try {
      response = await fetch(this.options.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ query: CHECKOUT_CART, variables: { guestCartId: guestCartId ?? null } }),
        signal: AbortSignal.timeout(this.options.timeoutMs),
      });
    } catch (error) {
      throw new CartUnavailable(error instanceof Error ? error.message : String(error), { cause: error });
    }
    const parsed = answer.safeParse(await response.json().catch(() => undefined));
    if (!parsed.success) throw new CartUnavailable(`HTTP ${response.status} without a cart`);
    const [refusal] = parsed.data.errors ?? [];
    if (refusal) {
      const code = refusal.extensions?.code as ErrorCode | undefined;
      if (code && passedOn.has(code)) throw new AppError(code, `Cart: ${refusal.message}`);
      throw new CartUnavailable(`${code ?? 'error'}: ${refusal.message}`);
    }
    return (parsed.data.data?.cart?.items ?? []).map((item) => ({
      productId: item.product.id,
      quantity: item.quantity,
    }));
  }
}
