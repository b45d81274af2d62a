import type { Redis } from 'ioredis';
import type { MergeStrategy } from './config';

/** Whose cart: a signed-in user's (`cart:{userId}`) or a guest cart (`cart:guest:{id}`). */
export type CartOwner = { kind: 'user'; userId: string } | { kind: 'guest'; guestCartId: string };

/** One line as Redis holds it: the prices are what carts show while the catalogue cannot be reached. */
export interface StoredLine {
  productId: string;
  quantity: number;
  /** The unit price when the product was first put in the cart. */
  addedPrice: string;
  /** The last unit price known (refreshed on every change and on reads that reached the catalogue). */
  lastPrice: string;
  currency: string;
  /** Whether the product was active when last seen. */
  available: boolean;
  addedAt: Date;
}

export interface StoredCart {
  lines: StoredLine[];
  /** null when nothing is stored (an empty cart). */
  expiresAt: Date | null;
}

/** What the catalogue said of a product, written into the lines that hold it. */
export interface LinePrice {
  price: string;
  currency: string;
  available: boolean;
}

export type ChangeOutcome =
  | { kind: 'changed'; quantity: number }
  | { kind: 'not-in-cart' }
  | { kind: 'too-many-lines' }
  | { kind: 'too-many-units'; current: number };

export interface MergeLimits {
  strategy: MergeStrategy;
  maxQuantity: number;
  maxLines: number;
  ttlMs: number;
}

export function cartKey(owner: CartOwner): string {
  return owner.kind === 'user' ? `cart:${owner.userId}` : `cart:guest:${owner.guestCartId}`;
}

// Every line is one hash field (the product id) holding JSON: q quantity, ap price when added, lp last known
// price, c currency, av available, at added-at (epoch microseconds from Redis' clock, as a string: cjson would
// round big numbers; microseconds keep lines added one after the other in order).
// Every change is one Lua script, so concurrent changes of one cart never lose each other's writes.

// KEYS[1] cart; ARGV productId, quantity, mode (add | set), maxQuantity, maxLines, ttlMs, price, currency,
// available (1/0). `add` adds to the line (creating it), `set` sets an existing line (0 removes it).
const CHANGE_LINE = `
local raw = redis.call('HGET', KEYS[1], ARGV[1])
local quantity = tonumber(ARGV[2])
local line
if raw then
  line = cjson.decode(raw)
  if ARGV[3] == 'add' then quantity = line.q + quantity end
else
  if ARGV[3] == 'set' then return {'NOT_IN_CART', 0} end
  if redis.call('HLEN', KEYS[1]) >= tonumber(ARGV[5]) then return {'TOO_MANY_LINES', 0} end
  local now = redis.call('TIME')
  line = { q = 0, ap = ARGV[7], at = now[1] .. string.format('%06d', tonumber(now[2])) }
end
if quantity > tonumber(ARGV[4]) then return {'TOO_MANY_UNITS', line.q} end
if quantity <= 0 then
  redis.call('HDEL', KEYS[1], ARGV[1])
else
  line.q = quantity
  line.lp = ARGV[7]
  line.c = ARGV[8]
  line.av = ARGV[9] == '1'
  redis.call('HSET', KEYS[1], ARGV[1], cjson.encode(line))
end
redis.call('PEXPIRE', KEYS[1], ARGV[6])
return {'OK', quantity}
`;

// KEYS[1] cart; ARGV productId, ttlMs.
const REMOVE_LINE = `
if redis.call('HDEL', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
`;

// KEYS[1] cart; ARGV triples productId, price, currency, available (1/0). Only lines still there change; the
// TTL is left alone (a price refresh is not the customer's change).
const REFRESH_PRICES = `
for i = 1, #ARGV, 4 do
  local raw = redis.call('HGET', KEYS[1], ARGV[i])
  if raw then
    local line = cjson.decode(raw)
    line.lp = ARGV[i + 1]
    line.c = ARGV[i + 2]
    line.av = ARGV[i + 3] == '1'
    redis.call('HSET', KEYS[1], ARGV[i], cjson.encode(line))
  end
end
return 0
`;

// KEYS[1] the user's cart, KEYS[2] the guest cart; ARGV strategy, maxQuantity, maxLines, ttlMs.
// Guest lines go in the order they were added. Returns {lines taken from the guest cart, guest lines left out};
// the guest cart is gone afterwards.
const MERGE = `
local guest = redis.call('HGETALL', KEYS[2])
if #guest == 0 then return {0, 0} end
local strategy = ARGV[1]
local maxQuantity = tonumber(ARGV[2])
local maxLines = tonumber(ARGV[3])
local taken, left = 0, 0
if strategy == 'KEEP_USER' and redis.call('HLEN', KEYS[1]) > 0 then
  left = #guest / 2
else
  if strategy == 'KEEP_GUEST' then redis.call('DEL', KEYS[1]) end
  local lines = {}
  for i = 1, #guest, 2 do
    lines[#lines + 1] = { id = guest[i], line = cjson.decode(guest[i + 1]) }
  end
  table.sort(lines, function(a, b)
    local x, y = tonumber(a.line.at), tonumber(b.line.at)
    if x == y then return a.id < b.id end
    return x < y
  end)
  for _, entry in ipairs(lines) do
    local line = entry.line
    local raw = redis.call('HGET', KEYS[1], entry.id)
    if raw then
      local mine = cjson.decode(raw)
      mine.q = math.min(mine.q + line.q, maxQuantity)
      redis.call('HSET', KEYS[1], entry.id, cjson.encode(mine))
      taken = taken + 1
    elseif redis.call('HLEN', KEYS[1]) < maxLines then
      line.q = math.min(line.q, maxQuantity)
      redis.call('HSET', KEYS[1], entry.id, cjson.encode(line))
      taken = taken + 1
    else
      left = left + 1
    end
  end
  redis.call('PEXPIRE', KEYS[1], ARGV[4])
end
redis.call('DEL', KEYS[2])
return {taken, left}
`;

// KEYS[1] cart, KEYS[2] the order's marker; ARGV markerTtlSeconds, then pairs productId, quantity.
// Takes the ordered units out of the cart once per order (the marker is set in the same script): lines put in
// the cart after checkout stay.
const TAKE_ORDERED = `
if not redis.call('SET', KEYS[2], '1', 'EX', ARGV[1], 'NX') then return -1 end
local removed = 0
for i = 2, #ARGV, 2 do
  local raw = redis.call('HGET', KEYS[1], ARGV[i])
  if raw then
    local line = cjson.decode(raw)
    line.q = line.q - tonumber(ARGV[i + 1])
    if line.q <= 0 then
      redis.call('HDEL', KEYS[1], ARGV[i])
      removed = removed + 1
    else
      redis.call('HSET', KEYS[1], ARGV[i], cjson.encode(line))
    end
  end
end
return removed
`;

interface LineJson {
  q: number;
  ap: string;
  lp: string;
  c: string;
  av: boolean;
  at: string;
}

/** The only code that touches Redis: carts as hashes, every change one atomic script. */
export class CartRepository {
  constructor(private readonly redis: Redis) {}

  async read(owner: CartOwner): Promise<StoredCart> {
    const key = cartKey(owner);
    const results = await this.redis.multi().hgetall(key).pttl(key).exec();
    const fields = (results?.[0]?.[1] ?? {}) as Record<string, string>;
    const pttl = Number(results?.[1]?.[1] ?? -2);
    const lines = Object.entries(fields)
      .map(([productId, raw]) => ({ productId, json: JSON.parse(raw) as LineJson }))
      .sort((a, b) => Number(a.json.at) - Number(b.json.at) || a.productId.localeCompare(b.productId))
      .map(({ productId, json }) => toLine(productId, json));
    return { lines, expiresAt: lines.length > 0 && pttl > 0 ? new Date(Date.now() + pttl) : null };
  }

  async changeLine(
    owner: CartOwner,
    change: {
      productId: string;
      quantity: number;
      mode: 'add' | 'set';
      maxQuantity: number;
      maxLines: number;
      ttlMs: number;
      price: LinePrice;
    },
  ): Promise<ChangeOutcome> {
    const [status, quantity] = (await this.redis.eval(
      CHANGE_LINE,
      1,
      cartKey(owner),
      change.productId,
      change.quantity,
      change.mode,
      change.maxQuantity,
      change.maxLines,
      change.ttlMs,
      change.price.price,
      change.price.currency,
      change.price.available ? '1' : '0',
    )) as [string, number];
    switch (status) {
      case 'OK':
        return { kind: 'changed', quantity };
      case 'NOT_IN_CART':
        return { kind: 'not-in-cart' };
      case 'TOO_MANY_LINES':
        return { kind: 'too-many-lines' };
      default:
        return { kind: 'too-many-units', current: quantity };
    }
  }

  /** false when the product was not in the cart. */
  async removeLine(owner: CartOwner, productId: string, ttlMs: number): Promise<boolean> {
    return (await this.redis.eval(REMOVE_LINE, 1, cartKey(owner), productId, ttlMs)) === 1;
  }

  async clear(owner: CartOwner): Promise<void> {
    await this.redis.del(cartKey(owner));
  }

  /** Writes what the catalogue said into the lines that still hold those products. */
  async refreshPrices(owner: CartOwner, prices: Map<string, LinePrice>): Promise<void> {
    if (prices.size === 0) return;
    const args = [...prices].flatMap(([productId, p]) => [
      productId,
      p.price,
      p.currency,
      p.available ? '1' : '0',
    ]);
    await this.redis.eval(REFRESH_PRICES, 1, cartKey(owner), ...args);
  }

  async merge(
    userId: string,
    guestCartId: string,
    limits: MergeLimits,
  ): Promise<{ taken: number; left: number }> {
    const [taken, left] = (await this.redis.eval(
      MERGE,
      2,
      cartKey({ kind: 'user', userId }),
      cartKey({ kind: 'guest', guestCartId }),
      limits.strategy,
      limits.maxQuantity,
      limits.maxLines,
      limits.ttlMs,
    )) as [number, number];
    return { taken, left };
  }

  /**
   * Takes an order's units out of the cart it was checked out from, once per order (-1: done before; else how
   * many lines went away).
   */
  async takeOrdered(
    owner: CartOwner,
    orderId: string,
    items: readonly { productId: string; quantity: number }[],
    markerTtlSeconds: number,
  ): Promise<number> {
    return (await this.redis.eval(
      TAKE_ORDERED,
      2,
      cartKey(owner),
      `cart-checkout:${orderId}`,
      markerTtlSeconds,
      ...items.flatMap((item) => [item.productId, item.quantity]),
    )) as number;
  }
}

function toLine(productId: string, json: LineJson): StoredLine {
  return {
    productId,
    quantity: json.q,
    addedPrice: json.ap,
    lastPrice: json.lp,
    currency: json.c,
    available: json.av,
    addedAt: new Date(Math.floor(Number(json.at) / 1000)),
  };
}
