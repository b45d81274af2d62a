import {
  contextFromCarrier,
  inSpan,
  type NotificationMetrics,
  SpanKind,
  spanAttributes,
  type TraceCarrier,
} from '@shop/kit';
import nodemailer, { type Transporter } from 'nodemailer';

export interface MailerSettings {
  host: string;
  port: number;
  secure: boolean;
  user: string;
  pass: string;
  from: string;
  /** Longest wait at each step (connect, greeting, each command): a slow server fails the attempt. */
  timeoutMs: number;
  /** Connections kept open to the server and used for one message at a time each (the pool's size). */
  maxConnections: number;
}

export interface OutgoingEmail {
  to: string;
  subject: string;
  html: string;
  text: string;
}

/**
 * Sends email over SMTP with nodemailer (SMTP_HOST, SMTP_PORT, SMTP_USER, SMTP_PASS, SMTP_SECURE, MAIL_FROM)
 * through a pool of open connections: a new connection per message cost a TCP connect, the greeting, EHLO
 * (and TLS and AUTH against a real relay) every time, most of the mailer's CPU under load. Messages beyond
 * `maxConnections` wait in the pool's queue; a connection the server closed is replaced on the next message.
 */
export class Mailer {
  private readonly transport: Transporter;

  constructor(
    private readonly settings: MailerSettings,
    /** Counts emails sent and failed by template. */
    private readonly metrics?: NotificationMetrics,
  ) {
    this.transport = nodemailer.createTransport({
      pool: true,
      maxConnections: settings.maxConnections,
      host: settings.host,
      port: settings.port,
      secure: settings.secure,
      ...(settings.user ? { auth: { user: settings.user, pass: settings.pass } } : {}),
      connectionTimeout: settings.timeoutMs,
      greetingTimeout: settings.timeoutMs,
      socketTimeout: settings.timeoutMs,
    });
  }

  /**
   * Resolves once the server accepted the message; rejects with nodemailer's error otherwise. Sent in a CLIENT
   * span continuing `trace.context` (the event that caused it), named by its template.
   */
  async send(
    email: OutgoingEmail,
    trace: { template: string; context?: TraceCarrier | null | undefined } = { template: 'unknown' },
  ): Promise<void> {
    await this.counted(
      trace.template,
      inSpan(
        'send email',
        {
          kind: SpanKind.CLIENT,
          parent: contextFromCarrier(trace.context),
          attributes: { [spanAttributes.emailTemplate]: trace.template },
        },
        async () => {
          await this.transport.sendMail({ from: this.settings.from, ...email });
        },
      ),
    );
  }

  private async counted(template: string, sending: Promise<void>): Promise<void> {
    try {
      await sending;
    } catch (error) {
      this.metrics?.emailsFailed.inc({ template });
      throw error;
    }
    this.metrics?.emailsSent.inc({ template });
  }

  close(): void {
    this.transport.close();
  }
}
