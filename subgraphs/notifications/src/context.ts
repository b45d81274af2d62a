import type { RequestContext } from '@shop/kit';
import type { NotificationFeed } from './events/consume';
import type { NotificationsService } from './notifications.service';

/** What every notifications resolver receives: the verified viewer plus the service and the live feed. */
export type Context = RequestContext & {
  notifications: NotificationsService;
  feed: NotificationFeed;
};

/** A fresh context per request (and per subscription operation). */
export function createContext(notifications: NotificationsService, feed: NotificationFeed) {
  return (base: RequestContext): Context => ({ ...base, notifications, feed });
}
