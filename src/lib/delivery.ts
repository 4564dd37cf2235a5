// The two ways a message leaves the service: email over SMTP (nodemailer) and text messages
// through an HTTP gateway (a JSON POST). Each call either delivers the message to the next hop or
// throws; the outbox worker decides about retries.
import { createRequire } from 'node:module';
import type nodemailer from 'nodemailer';

// nodemailer is loaded only when SMTP is configured: ~1.8 MB of heap (measured after import) that
// a service without email does not need.
const require = createRequire(import.meta.url);

export interface EmailMessage {
  to: string;
  subject: string;
  text: string;
  html?: string;
}

export interface SmsMessage {
  to: string;
  text: string;
}

export interface Delivery {
  email?(m: EmailMessage): Promise<void>;
  sms?(m: SmsMessage): Promise<void>;
  close(): void;
}

export interface EmailTransportConfig {
  smtpUrl: string;
  from: string;
  requireTls: boolean;
  rejectUnauthorized: boolean;
}

export interface SmsGatewayConfig {
  gatewayUrl: string;
  authHeader: string;
  authValue: string | undefined;
  from: string | undefined;
}

export function createDelivery(c: {
  email: EmailTransportConfig | undefined;
  sms: SmsGatewayConfig | undefined;
  timeoutMs: number;
}): Delivery {
  const transport = c.email
    ? (require('nodemailer') as typeof nodemailer).createTransport({
        url: c.email.smtpUrl,
        // smtps:// is implicit TLS; otherwise STARTTLS is required unless the operator says not.
        requireTLS: c.email.requireTls,
        ignoreTLS: !c.email.requireTls && !c.email.smtpUrl.startsWith('smtps:'),
        tls: { rejectUnauthorized: c.email.rejectUnauthorized },
        connectionTimeout: c.timeoutMs,
        greetingTimeout: c.timeoutMs,
        socketTimeout: c.timeoutMs,
      } as Parameters<typeof nodemailer.createTransport>[0])
    : undefined;

  return {
    ...(transport && c.email
      ? {
          async email(m: EmailMessage) {
            await transport.sendMail({ from: c.email!.from, to: m.to, subject: m.subject, text: m.text, html: m.html });
          },
        }
      : {}),
    ...(c.sms
      ? {
          async sms(m: SmsMessage) {
            const sms = c.sms!;
            const headers: Record<string, string> = { 'content-type': 'application/json' };
            if (sms.authValue !== undefined) headers[sms.authHeader.toLowerCase()] = sms.authValue;
            const res = await fetch(sms.gatewayUrl, {
              method: 'POST',
              headers,
              body: JSON.stringify({ to: m.to, text: m.text, ...(sms.from ? { from: sms.from } : {}) }),
              signal: AbortSignal.timeout(c.timeoutMs),
              redirect: 'error',
            });
            // Drain the body so the connection can be reused.
            await res.arrayBuffer().catch(() => undefined);
            if (!res.ok) throw new Error(`SMS gateway answered HTTP ${res.status}`);
          },
        }
      : {}),
    close() {
      transport?.close();
    },
  };
}
