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
}

export interface OutgoingEmail {
  to: string;
  subject: string;
  html: string;
  text: string;
}

/** Sends email over SMTP with nodemailer (SMTP_HOST, SMTP_PORT, SMTP_USER, SMTP_PASS, SMTP_SECURE, MAIL_FROM). */
export class Mailer {
  private readonly transport: Transporter;

  constructor(private readonly settings: MailerSettings) {
    this.transport = nodemailer.createTransport({
      host: settings.host,
      port: settings.port,
      secure: settings.secure,
      ...(settings.user ? { auth: { user: settings.user, pass: settings.pass } } : {}),
      connectionTimeout: settings.timeoutMs,
      greetingTimeout: settings.timeoutMs,
      socketTimeout: settings.timeoutMs,
    });
  }

  /** Resolves once the server accepted the message; rejects with nodemailer's error otherwise. */
  async send(email: OutgoingEmail): Promise<void> {
    await this.transport.sendMail({ from: this.settings.from, ...email });
  }

  close(): void {
    this.transport.close();
  }
}
