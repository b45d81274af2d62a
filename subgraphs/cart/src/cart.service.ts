import { randomBytes } from 'node:crypto';
import type { EventData } from '@shop/events';
import {
  badUserInput,
  conflict,
  type Logger,
  notFound,
  parseInput,
  requireViewer,
  unauthenticated,
  type Viewer,
} from '@shop/kit';
import { type ProductCatalog, ProductCatalogUnavailable } from '@shop/runtime';
import { z } from 'zod';
import type { CartOwner, CartRepository, LinePrice, StoredCart, StoredLine } from './cart.repository';
import type { MergeStrategy } from './config';
import { formatCents, sameAmount, toCents } from './money';

export interface CartSettings {
  userTtlSeconds: number;
  guestTtlSeconds: number;
  maxQuantity: number;
  maxLines: number;
  mergeStrategy: MergeStrategy;
  /** The currency of an empty cart. */
  currency: string;
}

export interface Amount {
  amount: string;
  currency: string;
}

/** A cart line as clients see it: priced now (or with the last price known). */
export interface CartItemView {
  productId: string;
  quantity: number;
  unitPrice: Amount;
  lineTotal: Amount;
  priceWhenAdded: Amount;
  priceChanged: boolean;
  available: boolean;
  addedAt: Date;
}

export interface CartView {
  id: string;
  guest: boolean;
  items: CartItemView[];
  subtotal: Amount;
  currency: string;
  itemCount: number;
  expiresAt: Date | null;
  pricesCurrent: boolean;
}

// 128 random bits as 32 hex digits: a guest cart's only protection is that nobody can guess its id.
const GUEST_CART_ID = /^[0-9a-f]{32}$/;
const guestCartId = z
  .string()
  .trim()
  .toLowerCase()
  .regex(GUEST_CART_ID, 'must be a guest cart id returned by this shop (32 hex digits)');
const productId = z.guid('must be a UUID');

/** A new guest cart id: 128 bits from the system's CSPRNG. */
export function newGuestCartId(): string {
  return randomBytes(16).toString('hex');
}

// How long an order's "taken out of its cart" marker is kept: longer than any redelivery can come late.
const ORDER_MARKER_TTL_SECONDS = 7 * 86_400;

/**
 * The cart's rules: whose cart a call reaches, what may be put in it (active products, bounded quantities and
 * lines), prices from the catalogue with the last known ones as a fallback, merging after sign-in. Knows
 * nothing of GraphQL; throws coded AppErrors.
 */
export class CartService {
  constructor(
    private readonly repository: CartRepository,
    private readonly catalog: ProductCatalog,
    private readonly settings: CartSettings,
    private readonly logger: Logger,
  ) {}

  /** The viewer's cart, or the guest cart with that id (empty when unknown); anonymous: a new empty guest cart. */
  async cart(viewer: Viewer | undefined, guestId?: string | null): Promise<CartView> {
    return this.view(this.owner(viewer, guestId, 'new-guest-cart'));
  }

  async addItem(
    viewer: Viewer | undefined,
    input: { productId: string; quantity: number; guestCartId?: string | null | undefined },
  ): Promise<CartView> {
    const valid = parseInput(z.object({ productId, quantity: this.quantity(1) }), input);
    const owner = this.owner(viewer, input.guestCartId, 'new-guest-cart');
    const price = await this.buyable(valid.productId);
    const current = await this.repository.read(owner);
    const otherCurrency = current.lines.find((line) => line.currency !== price.currency);
    if (otherCurrency) {
      throw conflict(
        `The cart holds prices in ${otherCurrency.currency}; this product costs ${price.currency}`,
      );
    }
    const outcome = await this.repository.changeLine(owner, {
      productId: valid.productId,
      quantity: valid.quantity,
      mode: 'add',
      maxQuantity: this.settings.maxQuantity,
      maxLines: this.settings.maxLines,
      ttlMs: this.ttlMs(owner),
      price,
    });
    if (outcome.kind === 'too-many-lines') {
      throw badUserInput(`A cart holds at most ${this.settings.maxLines} different products`, {
        field: 'productId',
      });
    }
    if (outcome.kind === 'too-many-units') {
      throw badUserInput(
        `A cart line holds at most ${this.settings.maxQuantity} units; this one holds ${outcome.current}`,
        { field: 'quantity' },
      );
    }
    return this.view(owner);
  }

  async updateItem(
    viewer: Viewer | undefined,
    input: { productId: string; quantity: number; guestCartId?: string | null | undefined },
  ): Promise<CartView> {
    const valid = parseInput(z.object({ productId, quantity: this.quantity(0) }), input);
    const owner = this.owner(viewer, input.guestCartId, 'required');
    const stored = (await this.repository.read(owner)).lines.find(
      (line) => line.productId === valid.productId,
    );
    if (!stored) throw notFound('Cart item', valid.productId);
    // Removing needs no catalogue; more units need a product still for sale.
    const price =
      valid.quantity === 0
        ? { price: stored.lastPrice, currency: stored.currency, available: stored.available }
        : await this.buyable(valid.productId);
    const outcome = await this.repository.changeLine(owner, {
      productId: valid.productId,
      quantity: valid.quantity,
      mode: 'set',
      maxQuantity: this.settings.maxQuantity,
      maxLines: this.settings.maxLines,
      ttlMs: this.ttlMs(owner),
      price,
    });
    // Removed by a concurrent call in between.
    if (outcome.kind === 'not-in-cart') throw notFound('Cart item', valid.productId);
    return this.view(owner);
  }

  async removeItem(
    viewer: Viewer | undefined,
    input: { productId: string; guestCartId?: string | null | undefined },
  ): Promise<CartView> {
    const valid = parseInput(z.object({ productId }), input);
    const owner = this.owner(viewer, input.guestCartId, 'required');
    const removed = await this.repository.removeLine(owner, valid.productId, this.ttlMs(owner));
    if (!removed) throw notFound('Cart item', valid.productId);
    return this.view(owner);
  }

  async clear(viewer: Viewer | undefined, guestId?: string | null): Promise<CartView> {
    const owner = this.owner(viewer, guestId, 'required');
    await this.repository.clear(owner);
    return this.view(owner);
  }

  /** Moves a guest cart into the signed-in user's cart by the configured strategy; the guest cart is deleted. */
  async mergeGuestCart(viewer: Viewer | undefined, guestId: string): Promise<CartView> {
    const user = requireViewer(viewer);
    const id = parseInput(z.object({ guestCartId }), { guestCartId: guestId }).guestCartId;
    const result = await this.repository.merge(user.userId, id, {
      strategy: this.settings.mergeStrategy,
      maxQuantity: this.settings.maxQuantity,
      maxLines: this.settings.maxLines,
      ttlMs: this.settings.userTtlSeconds * 1000,
    });
    if (result.taken > 0 || result.left > 0) {
      this.logger.info(
        { userId: user.userId, strategy: this.settings.mergeStrategy, ...result },
        'guest cart merged',
      );
    }
    return this.view({ kind: 'user', userId: user.userId });
  }

  /**
   * `order.placed` of an order checked out from a cart: its units leave that cart, once per order. Lines put in
   * the cart after checkout stay. Orders placed directly (no `cart`) leave carts alone.
   */
  async orderPlaced(data: EventData<'order.placed'>): Promise<void> {
    if (!data.cart) return;
    const guest = data.cart.guestCartId;
    let owner: CartOwner;
    if (guest === undefined) owner = { kind: 'user', userId: data.userId };
    else if (GUEST_CART_ID.test(guest.toLowerCase()))
      owner = { kind: 'guest', guestCartId: guest.toLowerCase() };
    else {
      this.logger.warn(
        { orderId: data.orderId },
        'order.placed names a malformed guest cart; nothing to clear',
      );
      return;
    }
    const removed = await this.repository.takeOrdered(
      owner,
      data.orderId,
      data.items,
      ORDER_MARKER_TTL_SECONDS,
    );
    if (removed >= 0)
      this.logger.info({ orderId: data.orderId, cart: owner.kind, removed }, 'cart checked out');
  }

  /** A product changed: its next read asks the catalogue again. */
  productChanged(productId: string): void {
    this.catalog.forget(productId);
  }

  private owner(
    viewer: Viewer | undefined,
    guestId: string | null | undefined,
    withoutId: 'new-guest-cart' | 'required',
  ): CartOwner {
    if (guestId !== null && guestId !== undefined) {
      return {
        kind: 'guest',
        guestCartId: parseInput(z.object({ guestCartId }), { guestCartId: guestId }).guestCartId,
      };
    }
    if (viewer) return { kind: 'user', userId: viewer.userId };
    if (withoutId === 'new-guest-cart') return { kind: 'guest', guestCartId: newGuestCartId() };
    throw unauthenticated('Sign in, or pass the guestCartId of your guest cart');
  }

  private quantity(min: number) {
    return z
      .number()
      .int()
      .min(min, `must be at least ${min}`)
      .max(this.settings.maxQuantity, `must be at most ${this.settings.maxQuantity}`);
  }

  private ttlMs(owner: CartOwner): number {
    return (owner.kind === 'user' ? this.settings.userTtlSeconds : this.settings.guestTtlSeconds) * 1000;
  }

  /** The product's price, when it exists and is for sale. */
  private async buyable(id: string): Promise<LinePrice> {
    const product = (await this.catalog.products([id])).get(id);
    if (!product?.active) throw notFound('Product', id);
    return { price: product.price.amount, currency: product.price.currency, available: true };
  }

  /** The cart priced now; with the catalogue unreachable, at the last prices known. */
  private async view(owner: CartOwner): Promise<CartView> {
    const stored = await this.repository.read(owner);
    const { prices, current } = await this.currentPrices(owner, stored);
    const currency = stored.lines[0]?.currency ?? this.settings.currency;
    let subtotal = 0n;
    let itemCount = 0;
    const items = stored.lines.map((line): CartItemView => {
      const price = prices.get(line.productId) ?? lastKnown(line);
      const total = toCents(price.price) * BigInt(line.quantity);
      subtotal += total;
      itemCount += line.quantity;
      return {
        productId: line.productId,
        quantity: line.quantity,
        unitPrice: { amount: formatCents(toCents(price.price)), currency: price.currency },
        lineTotal: { amount: formatCents(total), currency: price.currency },
        priceWhenAdded: { amount: formatCents(toCents(line.addedPrice)), currency: line.currency },
        priceChanged: !sameAmount(price.price, line.addedPrice),
        available: price.available,
        addedAt: line.addedAt,
      };
    });
    return {
      id: owner.kind === 'user' ? owner.userId : owner.guestCartId,
      guest: owner.kind === 'guest',
      items,
      subtotal: { amount: formatCents(subtotal), currency },
      currency,
      itemCount,
      expiresAt: stored.expiresAt,
      pricesCurrent: current,
    };
  }

  /** Asks the catalogue (one request, short cache) and remembers what changed as the lines' last known prices. */
  private async currentPrices(
    owner: CartOwner,
    stored: StoredCart,
  ): Promise<{ prices: Map<string, LinePrice>; current: boolean }> {
    const prices = new Map<string, LinePrice>();
    if (stored.lines.length === 0) return { prices, current: true };
    try {
      const found = await this.catalog.products(stored.lines.map((line) => line.productId));
      const changed = new Map<string, LinePrice>();
      for (const line of stored.lines) {
        const product = found.get(line.productId);
        // A product the catalogue no longer knows keeps its last price and cannot be bought.
        const price: LinePrice = product
          ? { price: product.price.amount, currency: product.price.currency, available: product.active }
          : { ...lastKnown(line), available: false };
        prices.set(line.productId, price);
        if (!sameAmount(price.price, line.lastPrice) || price.available !== line.available) {
          changed.set(line.productId, price);
        }
      }
      await this.repository.refreshPrices(owner, changed);
      return { prices, current: true };
    } catch (error) {
      if (!(error instanceof ProductCatalogUnavailable)) throw error;
      this.logger.warn({ err: error }, 'product catalogue unavailable: cart shows the last known prices');
      return { prices, current: false };
    }
  }
}

function lastKnown(line: StoredLine): LinePrice {
  return { price: line.lastPrice, currency: line.currency, available: line.available };
}
