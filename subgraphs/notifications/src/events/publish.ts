import type { EventDraft } from '@shop/events';
import type { NotificationRecord } from '../notifications.repository';

/** `notification.created`: feeds `notificationReceived` (ours and any instance's) when one is recorded. */
export function notificationCreated(notification: NotificationRecord): EventDraft<'notification.created'> {
  return {
    type: 'notification.created',
    data: {
      notificationId: notification.id,
      userId: notification.userId,
      type: notification.type,
      channel: notification.channel,
      subject: notification.subject,
      status: notification.status,
    },
  };
}
