import type { EventData, EventEnvelope } from '@shop/events';
import {
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
  type Viewer,
} from '@shop/kit';
import { z } from 'zod';
import { notificationsGroup } from './events/consume';
import { notificationCreated } from './events/publish';
import { Prisma } from './generated/prisma/client';
import type { Mailer } from './mailer';
import type {
  NotificationFilter,
  NotificationRecord,
  NotificationStatus,
  NotificationsRepository,
  OrderContactRecord,
} from './notifications.repository';
import type { NotificationType, TemplateRenderer } from './templates';

export interface NotificationsSettings {
  /** Recipients of low-stock alerts. */
  adminEmails: readonly string[];
  /** Delivery attempts in all before a notification is FAILED. */
  maxAttempts: number;
  retryInitialMs: number;
  retryMaxMs: number;
  /** How long an event that came before its order.placed waits for it. */
  contactWaitMs: number;
  /** How long a claimed notification stays with its sender before another may claim it. */
  claimLeaseMs: number;
}

/** A page of notifications; the total is counted only when asked for. */
export interface NotificationList extends Connection<NotificationRecord> {
  countTotal: () => Promise<number>;
}

export interface AllNotificationsArgs extends PageArgs {
  status?: NotificationStatus | null | undefined;
  type?: NotificationType | null | undefined;
  userId?: string | null | undefined;
  recipient?: string | null | undefined;
}

const notificationId = z.object({ id: z.guid('must be a UUID') });
const listFilter = z.object({
  userId: z.guid('must be a UUID').nullish(),
  recipient: z.string().trim().max(320).nullish(),
});

const cancellationText: Record<string, string> = {
  CUSTOMER_REQUEST: 'you asked us to cancel it',
  ADMIN_REQUEST: 'it was cancelled by our staff',
  OUT_OF_STOCK: 'some items are out of stock',
  PAYMENT_FAILED: 'the payment did not go through',
  RESERVATION_EXPIRED: 'the payment did not arrive in time',
};

function formatMoney(amount: string, currency: string): string {
  return `${amount} ${currency}`;
}

/** A short, readable order number for subjects: the id's first 8 characters. */
function orderNumber(orderId: string): string {
  return orderId.slice(0, 8).toUpperCase();
}

/** Exact money times a quantity (decimal.js, never a float). */
function lineTotal(unitPrice: string, quantity: number): string {
  return new Prisma.Decimal(unitPrice).mul(quantity).toFixed(2);
}

/** The events that concern an order but do not carry the customer's email. */
export type OrderEvent = EventEnvelope<
  'order.shipped' | 'order.cancelled' | 'payment.authorized' | 'payment.failed'
> &
  (
    | { type: 'order.shipped'; data: EventData<'order.shipped'> }
    | { type: 'order.cancelled'; data: EventData<'order.cancelled'> }
    | { type: 'payment.authorized'; data: EventData<'payment.authorized'> }
    | { type: 'payment.failed'; data: EventData<'payment.failed'> }
  );

const orderEventTypes = {
  'order.shipped': 'ORDER_SHIPPED',
  'order.cancelled': 'ORDER_CANCELLED',
  'payment.authorized': 'PAYMENT_CONFIRMATION',
  'payment.failed': 'PAYMENT_FAILED',
} as const satisfies Record<OrderEvent['type'], NotificationType>;

interface Draft {
  type: NotificationType;
  /** The event it is for (a parked event's own id when handled with its order.placed). */
  eventId: string;
  correlationId: string;

  userId: string | null;
  recipient: string;
  orderId: string | null;
  variables: Record<string, unknown>;
}

/**
 * The notification rules: which event mails whom with which template, the delivery attempts with their
 * backoff, and who may read or retry which notification. Knows nothing of GraphQL; throws coded AppErrors.
 */
export class NotificationsService {
  /** Called after a notification is recorded: the delivery job runs at once instead of at its next poll. */
  onRecorded: () => void = () => {};

  constructor(
    private readonly repository: NotificationsRepository,
    private readonly renderer: TemplateRenderer,
    private readonly mailer: Mailer,
    private readonly settings: NotificationsSettings,
    private readonly logger: Logger,
  ) {}

  // --- events ---------------------------------------------------------------------------------------------

  /**
   * Keeps the order's contact (later events of the order need it), confirms the order to the customer, and
   * handles the order's events that came before it (parked).
   */
  async onOrderPlaced(event: EventEnvelope<'order.placed'>): Promise<void> {
    const { data } = event;
    const contact: OrderContactRecord = {
      orderId: data.orderId,
      userId: data.userId,
      email: data.userEmail,
      name: data.userName ?? null,
      total: data.total.amount,
      currency: data.total.currency,
    };
    await this.record(event, data.orderId, async (repository) => {
      await repository.saveOrderContact(contact);
      const parked = await repository.takeParked(data.orderId);
      return [
        this.customerDraft(event, 'ORDER_CONFIRMATION', contact, {
          items: data.items.map((item) => ({
            name: item.name,
            sku: item.sku,
            quantity: item.quantity,
            unitPrice: formatMoney(item.unitPrice.amount, item.unitPrice.currency),
            lineTotal: formatMoney(lineTotal(item.unitPrice.amount, item.quantity), item.unitPrice.currency),
          })),
          shippingAddress: data.shippingAddress,
        }),
        ...parked.map((early) => this.orderEventDraft(early as OrderEvent, contact)),
      ];
    });
  }

  /**
   * order.shipped, order.cancelled, payment.authorized, payment.failed: mailed to the contact kept from the
   * order's order.placed. One that comes first is parked (marked processed) and handled when order.placed
   * arrives, or recorded FAILED after CONTACT_WAIT_MS: the partition is never held waiting.
   */
  async onOrderEvent(event: OrderEvent): Promise<void> {
    const { orderId } = event.data;
    await this.record(event, orderId, async (repository) => {
      const contact = await repository.findOrderContact(orderId);
      if (contact === null) {
        await repository.parkEvent(event, orderId);
        this.logger.info(
          { eventId: event.id, type: event.type, orderId },
          'order not known yet; event parked',
        );
        return [];
      }
      return [this.orderEventDraft(event, contact)];
    });
  }

  /** One alert per admin address (ADMIN_EMAILS), each with its own delivery status. */
  async onLowStock(event: EventEnvelope<'inventory.low-stock'>): Promise<void> {
    const { data } = event;
    await this.record(event, undefined, async () =>
      this.settings.adminEmails.map((recipient) => ({
        type: 'LOW_STOCK_ALERT' as const,
        eventId: event.id,
        correlationId: event.correlationId,
        userId: null,
        recipient,
        orderId: null,
        variables: {
          sku: data.sku,
          productId: data.productId,
          inventoryId: data.inventoryId,
          availableQuantity: data.availableQuantity,
          reorderLevel: data.reorderLevel,
          reorderQuantity: data.reorderQuantity,
        },
      })),
    );
  }

  /**
   * Gives up on events parked longer than `contactWaitMs`: each becomes a FAILED notification without a
   * recipient (visible to admins in allNotifications), not an email. Returns how many.
   */
  async expireParked(limit: number): Promise<number> {
    const before = new Date(Date.now() - this.settings.contactWaitMs);
    return this.repository.transaction(async (repository) => {
      const expired = await repository.takeExpiredParked(before, limit);
      for (const { event, orderId } of expired) {
        const type = orderEventTypes[event.type as OrderEvent['type']];
        const message = `order.placed of order ${orderId} never arrived: the customer's email is unknown`;
        await repository.create({
          userId: (event.data as { userId?: string }).userId ?? null,
          recipient: '',
          type,
          subject: `${type} for order #${orderNumber(orderId)} (not sent)`,
          content: message,
          html: '',
          eventId: event.id,
          orderId,
          status: 'FAILED',
          errorMessage: message,
        });
        this.logger.warn({ eventId: event.id, type: event.type, orderId }, message);
      }
      return expired.length;
    });
  }

  private orderEventDraft(event: OrderEvent, contact: OrderContactRecord): Draft {
    const type = orderEventTypes[event.type];
    switch (event.type) {
      case 'order.shipped':
        return this.customerDraft(event, type, contact, {});
      case 'order.cancelled':
        return this.customerDraft(event, type, contact, {
          reason: cancellationText[event.data.reason] ?? event.data.reason,
        });
      case 'payment.authorized':
        return this.customerDraft(event, type, contact, {
          amount: formatMoney(event.data.amount.amount, event.data.amount.currency),
        });
      case 'payment.failed':
        return this.customerDraft(event, type, contact, { reason: event.data.reason });
    }
  }

  private customerDraft(
    event: EventEnvelope,
    type: NotificationType,
    contact: OrderContactRecord,
    variables: Record<string, unknown>,
  ): Draft {
    return {
      type,
      eventId: event.id,
      correlationId: event.correlationId,
      userId: contact.userId,
      recipient: contact.email,
      orderId: contact.orderId,
      variables: {
        // A customer without a name is greeted by address rather than with a blank.
        userName: contact.name ?? contact.email,
        orderId: contact.orderId,
        orderNumber: orderNumber(contact.orderId),
        total: formatMoney(contact.total, contact.currency),
        ...variables,
      },
    };
  }

  /**
   * Renders and stores the event's notifications as PENDING, with notification.created for each, in the
   * transaction that marks the event processed: a redelivered event records nothing more.
   */
  private async record(
    event: EventEnvelope,
    /** The order whose events must not be handled at the same time (its lock is held while drafting). */
    orderId: string | undefined,
    drafts: (repository: NotificationsRepository) => Promise<Draft[]>,
  ): Promise<void> {
    let recorded = 0;
    const outcome = await this.repository.handleOnce(
      notificationsGroup,
      event,
      async (repository, enqueue) => {
        for (const draft of await drafts(repository)) {
          const email = await this.renderer.render(draft.type, draft.variables);
          const notification = await repository.create({
            userId: draft.userId,
            recipient: draft.recipient,
            type: draft.type,
            subject: email.subject,
            content: email.text,
            html: email.html,
            eventId: draft.eventId,
            orderId: draft.orderId,
          });
          if (notification === null) continue;
          await enqueue({ ...notificationCreated(notification), correlationId: draft.correlationId });
          recorded++;
        }
      },
      orderId,
    );
    if (outcome === 'duplicate') {
      this.logger.debug({ eventId: event.id, type: event.type }, 'event already handled; no notification');
    } else if (recorded > 0) {
      this.logger.info({ eventId: event.id, type: event.type, recorded }, 'notifications recorded');
      this.onRecorded();
    }
  }

  // --- delivery -------------------------------------------------------------------------------------------

  /**
   * One round of the delivery job: claims up to `limit` due notifications and sends them concurrently (a
   * slow one does not hold up the others); each ends SENT, PENDING again after a backoff, or FAILED once
   * its attempts are spent. Returns how many it claimed.
   */
  async deliverDue(limit: number): Promise<number> {
    const claimed = await this.repository.claimDue(limit, this.settings.claimLeaseMs);
    await Promise.all(claimed.map((notification) => this.deliver(notification)));
    return claimed.length;
  }

  private async deliver(notification: NotificationRecord): Promise<void> {
    try {
      await this.mailer.send(
        {
          to: notification.recipient,
          subject: notification.subject,
          html: notification.html,
          text: notification.content,
        },
        { template: notification.type, context: notification.traceContext },
      );
    } catch (error) {
      const attempt = notification.retryCount + 1;
      const message = error instanceof Error ? error.message : String(error);
      const retryAt =
        attempt >= this.settings.maxAttempts
          ? null
          : new Date(
              Date.now() +
                Math.min(this.settings.retryMaxMs, this.settings.retryInitialMs * 2 ** (attempt - 1)),
            );
      await this.repository.markAttemptFailed(notification.id, message, retryAt);
      this.logger.warn(
        { notificationId: notification.id, attempt, err: error, retryAt },
        retryAt ? 'email not sent; will retry' : 'email not sent; attempts spent, FAILED',
      );
      return;
    }
    await this.repository.markSent(notification.id, new Date());
    this.logger.info({ notificationId: notification.id, type: notification.type }, 'email sent');
  }

  // --- reads and admin actions ----------------------------------------------------------------------------

  /** The signed-in user's notifications, newest first. */
  myNotifications(viewer: Viewer | undefined, args: PageArgs): Promise<NotificationList> {
    const signedIn = requireViewer(viewer);
    return this.list({ userId: signedIn.userId }, args);
  }

  /** One notification for its owner or an admin; null when none has this id. */
  async notification(viewer: Viewer | undefined, id: string): Promise<NotificationRecord | null> {
    requireViewer(viewer);
    parseInput(notificationId, { id });
    const notification = await this.repository.findById(id);
    if (notification === null) return null;
    // Admin alerts have no owner: only admins see them.
    requireOwnerOrAdmin(viewer, notification.userId ?? '');
    return notification;
  }

  async allNotifications(viewer: Viewer | undefined, args: AllNotificationsArgs): Promise<NotificationList> {
    requireAdmin(viewer);
    const filter = parseInput(listFilter, { userId: args.userId, recipient: args.recipient });
    return this.list(
      {
        status: args.status ?? undefined,
        type: args.type ?? undefined,
        userId: filter.userId ?? undefined,
        recipient: filter.recipient || undefined,
      },
      args,
    );
  }

  /** FAILED → PENDING with a fresh count of attempts; the delivery job picks it up at once. */
  async retryNotification(viewer: Viewer | undefined, id: string): Promise<NotificationRecord> {
    const admin = requireAdmin(viewer);
    parseInput(notificationId, { id });
    const existing = await this.repository.findById(id);
    if (existing === null) throw notFound('Notification', id);
    if (existing.recipient === '') {
      throw conflict('This notification has no recipient (its order was never placed); it cannot be sent');
    }
    // Only while FAILED (checked again in the update: a concurrent retry cannot queue it twice).
    const requeued = await this.repository.requeueFailed(id);
    if (requeued === null) {
      throw conflict(`Only a FAILED notification can be retried; this one is ${existing.status}`, {
        status: existing.status,
      });
    }
    this.logger.info({ notificationId: id, by: admin.userId }, 'notification queued again');
    this.onRecorded();
    return requeued;
  }

  /** For `notificationReceived`: the notification an event announced, if it is the subscriber's. */
  async received(viewer: Viewer, id: string): Promise<NotificationRecord | null> {
    const notification = await this.repository.findById(id);
    return notification !== null && notification.userId === viewer.userId ? notification : null;
  }

  private async list(filter: NotificationFilter, args: PageArgs): Promise<NotificationList> {
    return {
      ...(await newestFirstPage(args, (take, after) => this.repository.list(filter, take, after))),
      countTotal: () => this.repository.count(filter),
    };
  }
}
