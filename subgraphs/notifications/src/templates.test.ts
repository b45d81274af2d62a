import { createLogger } from '@shop/kit';
import { describe, expect, it } from 'vitest';
import { MissingTemplateVariableError, type TemplateOverride, TemplateRenderer } from './templates';

const logger = createLogger('templates-test', 'silent');
const noOverride = async () => null;

const orderVariables = {
  userName: 'Ada',
  orderId: '0f8fad5b-d9cb-469f-a165-70867728950e',
  orderNumber: '0F8FAD5B',
  total: '10.00 USD',
};

describe('TemplateRenderer', () => {
  it('renders subject, HTML inside the shared layout, and text', async () => {
    const email = await new TemplateRenderer(noOverride, logger).render('ORDER_SHIPPED', orderVariables);
    expect(email.subject).toBe('Your order #0F8FAD5B has shipped');
    expect(email.html).toContain('<!doctype html>');
    expect(email.html).toContain('<strong>#0F8FAD5B</strong>');
    expect(email.text).toContain('Hello Ada,');
  });

  it('a missing variable is an error, not a blank', async () => {
    const renderer = new TemplateRenderer(noOverride, logger);
    const { total: _total, ...withoutTotal } = orderVariables;
    await expect(renderer.render('ORDER_SHIPPED', withoutTotal)).rejects.toBeInstanceOf(
      MissingTemplateVariableError,
    );
    // Nested fields too: Handlebars' strict mode throws on a lookup that finds nothing.
    await expect(
      renderer.render('ORDER_CONFIRMATION', {
        ...orderVariables,
        items: [{ name: 'x', sku: 'X', quantity: 1, unitPrice: '1.00 USD' }],
        shippingAddress: { street: 's', city: 'c', state: 's', zipCode: 'z', country: 'US' },
      }),
    ).rejects.toThrow(/lineTotal/);
  });

  it('escapes values in HTML and never evaluates them as templates', async () => {
    const userName = '<img src=x onerror=alert(1)> {{orderId}} "quoted"';
    const email = await new TemplateRenderer(noOverride, logger).render('ORDER_CANCELLED', {
      ...orderVariables,
      userName,
      reason: '<b>why</b>',
    });
    expect(email.html).toContain(
      '&lt;img src&#x3D;x onerror&#x3D;alert(1)&gt; {{orderId}} &quot;quoted&quot;',
    );
    expect(email.html).toContain('&lt;b&gt;why&lt;/b&gt;');
    expect(email.html).not.toContain('<img');
    expect(email.text).toContain(`Hello ${userName},`);
  });

  it('uses an active override when its declared variables are the event’s; caches it by id and version', async () => {
    let calls = 0;
    const override: TemplateOverride = {
      id: 'a',
      name: 'payment-confirmation',
      subject: 'Paid {{amount}}',
      html: '<p>{{userName}}</p>',
      text: 'Paid {{amount}}',
      variables: ['amount', 'userName'],
      updatedAt: new Date(1),
    };
    const renderer = new TemplateRenderer(async (name) => {
      calls++;
      return name === 'payment-confirmation' ? override : null;
    }, logger);
    const email = await renderer.render('PAYMENT_CONFIRMATION', { ...orderVariables, amount: '5.00 USD' });
    expect(email).toEqual({ subject: 'Paid 5.00 USD', html: '<p>Ada</p>', text: 'Paid 5.00 USD' });
    expect(calls).toBe(1);

    // A variable the event does not provide: the override is refused and the file template used.
    override.variables = ['amount', 'password'];
    override.updatedAt = new Date(2);
    const fallback = await renderer.render('PAYMENT_CONFIRMATION', { ...orderVariables, amount: '5.00 USD' });
    expect(fallback.subject).toBe('Payment received for order #0F8FAD5B');

    // One that does not compile is refused too.
    override.variables = ['amount'];
    override.html = '{{#if}}';
    override.updatedAt = new Date(3);
    const broken = await renderer.render('PAYMENT_CONFIRMATION', { ...orderVariables, amount: '5.00 USD' });
    expect(broken.subject).toBe('Payment received for order #0F8FAD5B');

    // One that uses a name it did not declare fails to render (strict): the file template is used.
    override.html = '<p>{{password}}</p>';
    override.updatedAt = new Date(4);
    const undeclared = await renderer.render('PAYMENT_CONFIRMATION', {
      ...orderVariables,
      amount: '5.00 USD',
    });
    expect(undeclared.subject).toBe('Payment received for order #0F8FAD5B');
  });
});
