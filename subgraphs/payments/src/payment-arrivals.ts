/**
 * createPaymentIntent calls waiting for their order's payment to exist. A customer asks to pay right after
 * checkout, usually before payments has handled that order's `order.placed`; rather than answer NOT_FOUND and
 * have every client poll, the call waits a little. The handler that creates the payment on this instance wakes
 * its waiters at once; a payment another instance created is found by the waiter's own re-reads, so the wait
 * never depends on which instance consumed the event.
 */
export class PaymentArrivals {
  private readonly waiters = new Map<string, Set<() => void>>();

  /** This instance just committed the payment of `orderId`: its waiters look again now. */
  announce(orderId: string): void {
    const key = orderId.toLowerCase();
    const waiting = this.waiters.get(key);
    if (!waiting) return;
    this.waiters.delete(key);
    for (const wake of waiting) wake();
  }

  /** Resolves when `orderId`'s payment is announced or after `ms`, whichever comes first. */
  next(orderId: string, ms: number): Promise<void> {
    const key = orderId.toLowerCase();
    return new Promise((resolve) => {
      let waiting = this.waiters.get(key);
      if (!waiting) {
        waiting = new Set();
        this.waiters.set(key, waiting);
      }
      const wake = () => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        const current = this.waiters.get(key);
        current?.delete(wake);
        if (current?.size === 0) this.waiters.delete(key);
        resolve();
      }, ms);
      waiting.add(wake);
    });
  }
}
