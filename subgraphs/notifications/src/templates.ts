import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Logger } from '@shop/kit';
import Handlebars from 'handlebars';

/** What a notification is about; the GraphQL NotificationType. */
export type NotificationType =
  | 'ORDER_CONFIRMATION'
  | 'ORDER_SHIPPED'
  | 'ORDER_CANCELLED'
  | 'PAYMENT_CONFIRMATION'
  | 'PAYMENT_FAILED'
  | 'LOW_STOCK_ALERT';

interface TemplateDefinition {
  /** The file name (src/templates/<name>.hbs and <name>.text.hbs) and the override's `name`. */
  name: string;
  /** Handlebars, rendered as plain text. */
  subject: string;
  /** The variables every render of it receives; an override may use only these. */
  variables: readonly string[];
}

const orderVariables = ['userName', 'orderId', 'orderNumber', 'total'] as const;

/** The file template of each type, its subject and the variables its event provides. */
export const templateDefinitions: Record<NotificationType, TemplateDefinition> = {
  ORDER_CONFIRMATION: {
    name: 'order-confirmation',
    subject: 'Your order #{{orderNumber}} is confirmed',
    variables: [...orderVariables, 'items', 'shippingAddress'],
  },
  ORDER_SHIPPED: {
    name: 'order-shipped',
    subject: 'Your order #{{orderNumber}} has shipped',
    variables: orderVariables,
  },
  ORDER_CANCELLED: {
    name: 'order-cancelled',
    subject: 'Your order #{{orderNumber}} was cancelled',
    variables: [...orderVariables, 'reason'],
  },
  PAYMENT_CONFIRMATION: {
    name: 'payment-confirmation',
    subject: 'Payment received for order #{{orderNumber}}',
    variables: [...orderVariables, 'amount'],
  },
  PAYMENT_FAILED: {
    name: 'payment-failed',
    subject: 'Payment failed for order #{{orderNumber}}',
    variables: [...orderVariables, 'reason'],
  },
  LOW_STOCK_ALERT: {
    name: 'low-stock-alert',
    subject: 'Low stock: {{sku}} ({{availableQuantity}} left)',
    variables: ['sku', 'productId', 'inventoryId', 'availableQuantity', 'reorderLevel', 'reorderQuantity'],
  },
};

/** An admin's replacement of a file template (a notification_templates row that is active). */
export interface TemplateOverride {
  id: string;
  name: string;
  subject: string;
  html: string;
  text: string;
  variables: string[];
  updatedAt: Date;
}

export interface RenderedEmail {
  subject: string;
  html: string;
  text: string;
}

/** A template's variables were not all given: an error, never a blank in a customer's email. */
export class MissingTemplateVariableError extends Error {
  constructor(template: string, missing: readonly string[]) {
    super(`template ${template} is missing variable(s) ${missing.join(', ')}`);
    this.name = 'MissingTemplateVariableError';
  }
}

interface Compiled {
  subject: Handlebars.TemplateDelegate;
  html: Handlebars.TemplateDelegate;
  text: Handlebars.TemplateDelegate;
  variables: readonly string[];
}

const templatesDir = fileURLToPath(new URL('./templates/', import.meta.url));

/**
 * Renders emails from the Handlebars templates in src/templates (an HTML file inside the shared layout
 * partial, and a text file), or from an active override in notification_templates. Every template is
 * compiled once and cached (an override by id and updatedAt, so an edit is picked up). Compiled `strict`:
 * a variable that is not there throws. HTML escapes every value (names, addresses come from users), and a
 * value is never compiled, so `{{` in a user's name stays text.
 */
export class TemplateRenderer {
  private readonly handlebars = Handlebars.create();
  private readonly cache = new Map<string, Compiled>();

  constructor(
    private readonly loadOverride: (name: string) => Promise<TemplateOverride | null>,
    private readonly logger: Logger,
  ) {
    this.handlebars.registerPartial('layout', this.read('partials/layout.hbs'));
    // Compile every file template now: a broken file fails the start, not a customer's email.
    for (const type of Object.keys(templateDefinitions) as NotificationType[]) this.fileTemplate(type);
  }

  /**
   * The email of this type from these variables. A missing variable throws (MissingTemplateVariableError, or
   * Handlebars' strict-mode error for a nested one). An override that fails to render (it uses a name it did
   * not declare) is logged and the file template used instead: an admin's mistake must not lose the email.
   */
  async render(type: NotificationType, variables: Record<string, unknown>): Promise<RenderedEmail> {
    const definition = templateDefinitions[type];
    const override = await this.overrideTemplate(type);
    if (override) {
      try {
        return this.apply(definition.name, override, variables);
      } catch (error) {
        this.logger.warn(
          { err: error, template: definition.name },
          'template override failed; file template used',
        );
      }
    }
    return this.apply(definition.name, this.fileTemplate(type), variables);
  }

  private apply(name: string, template: Compiled, variables: Record<string, unknown>): RenderedEmail {
    const missing = template.variables.filter(
      (variable) => variables[variable] === undefined || variables[variable] === null,
    );
    if (missing.length > 0) throw new MissingTemplateVariableError(name, missing);
    return {
      // Headers are one line.
      subject: template.subject(variables).replace(/\s+/g, ' ').trim(),
      html: template.html(variables),
      text: template.text(variables),
    };
  }

  private fileTemplate(type: NotificationType): Compiled {
    const definition = templateDefinitions[type];
    const key = `file:${definition.name}`;
    let compiled = this.cache.get(key);
    if (!compiled) {
      compiled = this.compile(
        definition.subject,
        this.read(`${definition.name}.hbs`),
        this.read(`${definition.name}.text.hbs`),
        definition.variables,
      );
      this.cache.set(key, compiled);
    }
    return compiled;
  }

  /** The active override of this type's template, if any and if it declares only variables the event gives. */
  private async overrideTemplate(type: NotificationType): Promise<Compiled | undefined> {
    const definition = templateDefinitions[type];
    const override = await this.loadOverride(definition.name);
    if (!override) return undefined;
    const key = `db:${override.id}:${override.updatedAt.getTime()}`;
    const cached = this.cache.get(key);
    if (cached) return cached;
    const unknown = override.variables.filter((name) => !definition.variables.includes(name));
    if (unknown.length > 0) {
      this.logger.warn(
        { template: definition.name, unknown },
        'template override declares variables its events do not provide; the file template is used',
      );
      return undefined;
    }
    try {
      const compiled = this.compile(override.subject, override.html, override.text, override.variables);
      this.cache.set(key, compiled);
      return compiled;
    } catch (error) {
      this.logger.warn({ err: error, template: definition.name }, 'template override does not compile');
      return undefined;
    }
  }

  private compile(subject: string, html: string, text: string, variables: readonly string[]): Compiled {
    const compileOptions = { strict: true };
    const compiled: Compiled = {
      subject: this.handlebars.compile(subject, { ...compileOptions, noEscape: true }),
      html: this.handlebars.compile(html, compileOptions),
      // Plain text is not HTML: nothing to escape.
      text: this.handlebars.compile(text, { ...compileOptions, noEscape: true }),
      variables,
    };
    // Handlebars compiles on first call; precompiling now surfaces syntax errors here.
    for (const source of [subject, html, text]) this.handlebars.precompile(source, compileOptions);
    return compiled;
  }

  private read(file: string): string {
    return readFileSync(`${templatesDir}${file}`, 'utf8');
  }
}
