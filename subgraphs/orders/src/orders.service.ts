import type { Enqueue, EventEnvelope } from '@shop/events';
import {
  badUserInput,
  type Connection,
  conflict,
  type Logger,
  newestFirstPage,
  notFound,
  type PageArgs,
  parseInput,
  requireAdmin,
  requireOwnerOrAdmin,
  requireViewer,
  unauthenticated,
  type Viewer,
} from '@shop/kit';
import type { ProductCatalog } from '@shop/runtime';
import type DataLoader from 'dataloader';
import { z } from 'zod';
import type { CartReader } from './cart-client';
import { orderPlaced, transitionEvents } from './events/publish';
import { fromCents, MAX_CENTS, toCents } from './money';
import {
  type CancellationReason,
  type Command,
  commandStep,
  decide,
  type OrderFacts,
  type OrderStatus,
  orderStatuses,
  type Signal,
  type Step,
} from './order-state';
import type {
  OrderChanges,
  OrderFilter,
  OrderRecord,
  OrdersRepository,
  ShippingAddress,
} from './orders.repository';

export interface OrdersSettings {
  /** At most this many lines per order. */
  maxLines: number;
  /** At most this many units per line. */
  maxQuantity: number;
}

/** A page of orders; the total is counted only when asked for. */
export interface OrderList extends Connection<OrderRecord> {
  countTotal: () => Promise<number>;
}

/** A reference to another subgraph's entity: its id is all we hold. */
export interface UserRef {
  id: string;
}
export interface ProductRef {
  id: string;
}

/** A status change as the subscription delivers it (from `order.status-changed`). */
export interface StatusChange {
  orderId: string;
  from: OrderStatus;
  to: OrderStatus;
  reason: string | null;
  at: string;
}

export interface PlaceOrderInput {
  items: readonly { productId: string; quantity: number }[];
  shippingAddress: ShippingAddress;
}

export interface CheckoutInput {
  shippingAddress: ShippingAddress;
  guestCartId?: string | null | undefined;
}

export interface OrderListArgs extends PageArgs {
  status?: OrderStatus | null | undefined;
}

/** Who or what caused a change, for the history table and the events' correlation id. */
interface Cause {
  source: string;
  sourceEventId: string | null;
  actorId: string | null;
  correlationId?: string | undefined;
}

const text = (max: number) =>
  z.string().trim().min(1, 'must not be empty').max(max, `must be at most ${max} characters`);

export const shippingAddressSchema = z.object({
  street: text(200),
  city: text(100),
  state: text(100),
  zipCode: z
    .string()
    .trim()
    .regex(
      /^[A-Za-z0-9][A-Za-z0-9 -]{0,10}[A-Za-z0-9]$/,
      'must be 2 to 12 letters, digits, spaces or dashes',
    ),
  country: z
    .string()
    .trim()
    .toUpperCase()
    .regex(/^[A-Z]{2}$/, 'must be an ISO 3166-1 alpha-2 code such as "US"'),
});

function placeOrderSchema(settings: OrdersSettings) {
  return z.object({
    items: z
      .array(
        z.object({
          productId: z.guid('must be a UUID').transform((id) => id.toLowerCase()),
          quantity: z
            .number()
            .int('must be a whole number')
            .min(1, 'must be at least 1')
            .max(settings.maxQuantity, `must be at most ${settings.maxQuantity}`),
        }),
      )
      .min(1, 'an order needs at least one line')
      .max(settings.maxLines, `an order has at most ${settings.maxLines} lines`)
      .refine(
        (items) => new Set(items.map((item) => item.productId)).size === items.length,
        'list each product once',
      ),
    shippingAddress: shippingAddressSchema,
  });
}

const orderId = z.object({ id: z.guid('must be a UUID') });
const guestCartId = z.object({ guestCartId: z.string().trim().min(1).max(100).nullish() });
const statusFilter = z.object({ status: z.enum(orderStatuses).nullish() });

function isAdmin(viewer: Viewer | undefined): boolean {
  return viewer?.role === 'ADMIN';
}

function factsOf(order: OrderRecord): OrderFacts {
  return {
    status: order.status,
    stockReserved: order.stockReservedAt !== null,
    paymentAuthorized: order.paymentAuthorizedAt !== null,
    paymentCaptured: order.paymentCapturedAt !== null,
    totalCents: toCents(order.total),
    refundedCents: toCents(order.refundedAmount),
  };
}

/** The columns that record a change of facts (timestamps are set once, when a fact is first learnt). */
function factChanges(order: OrderRecord, facts: OrderFacts, at: Date): OrderChanges {
  const changes: OrderChanges = {};
  if (facts.stockReserved !== (order.stockReservedAt !== null)) {
    changes.stockReservedAt = facts.stockReserved ? at : null;
  }
  if (facts.paymentAuthorized && order.paymentAuthorizedAt === null) changes.paymentAuthorizedAt = at;
  if (facts.paymentCaptured && order.paymentCapturedAt === null) changes.paymentCapturedAt = at;
  if (facts.refundedCents !== toCents(order.refundedAmount)) {
    changes.refundedAmount = fromCents(facts.refundedCents);
  }
  return changes;
}

/**
 * The orders' rules: placing (prices from the catalogue), who may see and change which orders, and the state
 * machine applied to client commands and to other subgraphs' events. Knows nothing of GraphQL; throws coded
 * AppErrors.
 */
export class OrdersService {
  private readonly placeOrderSchema: ReturnType<typeof placeOrderSchema>;

  constructor(
    private readonly repository: OrdersRepository,
    private readonly catalog: ProductCatalog,
    private readonly cart: CartReader,
    settings: OrdersSettings,
    private readonly logger: Logger,
  ) {
    this.placeOrderSchema = placeOrderSchema(settings);
  }

  // --- reading ---------------------------------------------------------------------------------------

  /** An order its owner or an admin asks for; NOT_FOUND for anyone else, as for an order that does not exist. */
  async order(viewer: Viewer | undefined, id: string): Promise<OrderRecord> {
    const signedIn = requireViewer(viewer);
    parseInput(orderId, { id });
    const order = await this.repository.findById(id);
    if (order === null || (!isAdmin(signedIn) && order.userId !== signedIn.userId)) {
      throw notFound('Order', id);
    }
    return order;
  }

  /** A reference from another subgraph: the order when the viewer may see it, else null. */
  async orderVisibleTo(
    viewer: Viewer | undefined,
    id: string,
    loader: DataLoader<string, OrderRecord | null>,
  ): Promise<OrderRecord | null> {
    if (!viewer) return null;
    const order = await loader.load(id);
    if (order === null || (!isAdmin(viewer) && order.userId !== viewer.userId)) return null;
    return order;
  }

  myOrders(viewer: Viewer | undefined, args: PageArgs): Promise<OrderList> {
    const signedIn = requireViewer(viewer);
    return this.list({ userId: signedIn.userId }, args);
  }

  /** `User.orders`: the user themselves or an admin. */
  ordersOfUser(viewer: Viewer | undefined, userId: string, args: PageArgs): Promise<OrderList> {
    requireOwnerOrAdmin(viewer, userId);
    return this.list({ userId }, args);
  }

  /** Every order, optionally in one status (admins only). */
  orders(viewer: Viewer | undefined, args: OrderListArgs): Promise<OrderList> {
    requireAdmin(viewer);
    const { status } = parseInput(statusFilter, { status: args.status });
    return this.list({ status: status ?? undefined }, args);
  }

  private async list(filter: OrderFilter, args: PageArgs): Promise<OrderList> {
    return {
      ...(await newestFirstPage(args, (take, after) => this.repository.list(filter, take, after))),
      countTotal: () => this.repository.count(filter),
    };
  }

  /** Authorises a subscription to an order's changes: its owner or an admin (NOT_FOUND otherwise). */
  async watchOrder(viewer: Viewer | undefined, id: string): Promise<string> {
    const order = await this.order(viewer, id);
    return order.id;
  }

  // --- placing ---------------------------------------------------------------------------------------

  /**
   * Places an order at the catalogue's current prices. Every refusal (BAD_USER_INPUT) comes before anything
   * is written, so a refused order publishes nothing. A catalogue that does not answer refuses the order
   * as SERVICE_UNAVAILABLE (ProductCatalogUnavailable; details logged), never as the client's mistake.
   */
  async placeOrder(
    viewer: Viewer | undefined,
    input: PlaceOrderInput,
    cart?: { guestCartId?: string },
  ): Promise<OrderRecord> {
    const customer = requireViewer(viewer);
    const valid = parseInput(this.placeOrderSchema, input);
    const products = await this.catalog.products(valid.items.map((item) => item.productId));
    const unavailable = valid.items.map((item) => item.productId).filter((id) => !products.get(id)?.active);
    if (unavailable.length > 0) {
      throw badUserInput(`These products are unknown or no longer sold: ${unavailable.join(', ')}`, {
        productIds: unavailable,
      });
    }
    const lines = valid.items.map((item) => {
      // Checked just above: every product is known and active.
      const product = products.get(item.productId) as NonNullable<ReturnType<typeof products.get>>;
      return { item, product };
    });
    const currencies = new Set(lines.map(({ product }) => product.price.currency));
    if (currencies.size > 1) {
      throw badUserInput(
        `An order is paid in one currency; these products are in ${[...currencies].join(', ')}`,
      );
    }
    const total = lines.reduce(
      (sum, { item, product }) => sum + toCents(product.price.amount) * BigInt(item.quantity),
      0n,
    );
    if (total > MAX_CENTS) throw badUserInput('The order total is too large');
    const [currency = 'USD'] = currencies;

    const order = await this.repository.transaction(async (repository, enqueue) => {
      const created = await repository.create({
        userId: customer.userId,
        userEmail: customer.email,
        userName: customer.name ?? null,
        currency,
        total: fromCents(total),
        items: lines.map(({ item, product }) => ({
          productId: item.productId,
          sku: product.sku,
          name: product.name,
          quantity: item.quantity,
          unitPrice: product.price.amount,
        })),
        shippingAddress: valid.shippingAddress,
        source: cart === undefined ? 'placeOrder' : 'checkout',
      });
      await enqueue(orderPlaced(created, cart));
      return created;
    });
    this.logger.info(
      { orderId: order.id, userId: customer.userId, total: order.total, lines: order.items.length },
      'order placed',
    );
    return order;
  }

  /**
   * Places an order from the caller's cart (read with the caller's token): the cart gives products and
   * quantities, the catalogue the prices. The cart subgraph clears the cart on this order's `order.placed`.
   */
  async checkout(
    viewer: Viewer | undefined,
    token: string | undefined,
    input: CheckoutInput,
  ): Promise<OrderRecord> {
    requireViewer(viewer);
    if (token === undefined) throw unauthenticated();
    const { guestCartId: guest } = parseInput(guestCartId, { guestCartId: input.guestCartId });
    // Validate the address before asking the cart anything.
    parseInput(shippingAddressSchema, input.shippingAddress);
    const lines = await this.cart.lines(token, guest ?? undefined);
    if (lines.length === 0) throw badUserInput('The cart is empty');
    return this.placeOrder(
      viewer,
      { items: lines, shippingAddress: input.shippingAddress },
      guest ? { guestCartId: guest } : {},
    );
  }

  // --- client commands -------------------------------------------------------------------------------

  /** Cancels an order not yet shipped: its owner or an admin. */
  async cancelOrder(viewer: Viewer | undefined, id: string): Promise<OrderRecord> {
    const signedIn = requireViewer(viewer);
    parseInput(orderId, { id });
    return this.command(signedIn, id, 'CANCEL', 'cancelOrder', (order) => {
      if (!isAdmin(signedIn) && order.userId !== signedIn.userId) throw notFound('Order', id);
    });
  }

  async shipOrder(viewer: Viewer | undefined, id: string): Promise<OrderRecord> {
    const admin = requireAdmin(viewer);
    parseInput(orderId, { id });
    return this.command(admin, id, 'SHIP', 'shipOrder');
  }

  async deliverOrder(viewer: Viewer | undefined, id: string): Promise<OrderRecord> {
    const admin = requireAdmin(viewer);
    parseInput(orderId, { id });
    return this.command(admin, id, 'DELIVER', 'deliverOrder');
  }

  private async command(
    actor: Viewer,
    id: string,
    command: Command,
    source: string,
    authorise: (order: OrderRecord) => void = () => {},
  ): Promise<OrderRecord> {
    const order = await this.repository.transaction(async (repository, enqueue) => {
      const current = await repository.lockById(id);
      if (current === null) throw notFound('Order', id);
      authorise(current);
      const reason: CancellationReason =
        isAdmin(actor) && current.userId !== actor.userId ? 'ADMIN_REQUEST' : 'CUSTOMER_REQUEST';
      const step = commandStep(current.status, command, reason);
      if (!step) {
        throw conflict(`An order that is ${current.status} cannot be ${pastTense[command]}`, {
          status: current.status,
        });
      }
      return this.applySteps(repository, enqueue, current, {}, [step], {
        source,
        sourceEventId: null,
        actorId: actor.userId,
      });
    });
    this.logger.info({ orderId: id, command, status: order.status, by: actor.userId }, 'order changed');
    return order;
  }

  // --- other subgraphs' events -----------------------------------------------------------------------

  /**
   * Applies what an event says about an order, once per event id (the processed-event row commits with the
   * changes and their events). An event for an order we do not hold is recorded and ignored.
   */
  async applyEvent(
    consumerGroup: string,
    event: Pick<EventEnvelope, 'id' | 'type' | 'correlationId'>,
    orderIdOfEvent: string,
    signal: Signal,
  ): Promise<'processed' | 'duplicate' | 'unknown-order'> {
    return this.repository.transaction(async (repository, enqueue) => {
      if (!(await repository.claimEvent(consumerGroup, event.id))) return 'duplicate';
      const order = await repository.lockById(orderIdOfEvent);
      if (order === null) {
        this.logger.warn(
          { eventId: event.id, type: event.type, orderId: orderIdOfEvent },
          'event for an unknown order',
        );
        return 'unknown-order';
      }
      const decision = decide(factsOf(order), signal);
      const changed = await this.applySteps(
        repository,
        enqueue,
        order,
        factChanges(order, decision.facts, new Date()),
        decision.steps,
        { source: event.type, sourceEventId: event.id, actorId: null, correlationId: event.correlationId },
      );
      if (decision.steps.length > 0) {
        this.logger.info(
          { orderId: order.id, eventId: event.id, type: event.type, from: order.status, to: changed.status },
          'order moved by an event',
        );
      }
      return 'processed';
    });
  }

  /** Writes the facts and each step (status, history row, events), the order's row locked by the caller. */
  private async applySteps(
    repository: OrdersRepository,
    enqueue: Enqueue,
    order: OrderRecord,
    facts: OrderChanges,
    steps: readonly Step[],
    cause: Cause,
  ): Promise<OrderRecord> {
    const last = steps.at(-1);
    const cancellation = steps.find((step) => step.cancellationReason)?.cancellationReason;
    const changes: OrderChanges = {
      ...facts,
      ...(last ? { status: last.to } : {}),
      ...(cancellation ? { cancellationReason: cancellation } : {}),
    };
    const history = steps.map((step) => ({
      orderId: order.id,
      from: step.from,
      to: step.to,
      reason: step.reason,
      source: cause.source,
      sourceEventId: cause.sourceEventId,
      actorId: cause.actorId,
    }));
    // A step always changes the status, so the history rows go with the update (one statement).
    const updated =
      Object.keys(changes).length > 0 ? await repository.update(order, changes, history) : order;
    for (const step of steps) await enqueue(...transitionEvents(order, step, cause.correlationId));
    return updated;
  }
}

const pastTense: Record<Command, string> = { CANCEL: 'cancelled', SHIP: 'shipped', DELIVER: 'delivered' };
