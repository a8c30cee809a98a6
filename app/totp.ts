import { Secret, TOTP } from 'otpauth';
import QRCode from 'qrcode';

/** RFC 6238 defaults every authenticator app understands: SHA-1, 6 digits, 30-second steps. */
const PERIOD_SECONDS = 30;
const ISSUER = 'coatcheck';

/** A new TOTP secret: 160 random bits (RFC 4226 section 4), in base32 for people and QR codes. */
export function createTotpSecret(): string {
  return new Secret({ size: 20 }).base32;
}

function totpOf(secret: string, label = ''): TOTP {
  return new TOTP({ issuer: ISSUER, label, secret: Secret.fromBase32(secret), period: PERIOD_SECONDS });
}

/** The time-step a timestamp (ms) falls in. */
export function totpStepAt(nowMs: number): number {
  return Math.floor(nowMs / 1000 / PERIOD_SECONDS);
}

/**
 * The time-step a code belongs to when it is valid at `nowMs` within ±1 step (RFC 6238 section 5.2:
 * one step of clock drift each way), else null. Whether that step was already used is the caller's
 * check (S41).
 */
export function matchTotpStep(secret: string, code: string, nowMs: number): number | null {
  if (!/^\d{6}$/.test(code) || !/^[A-Z2-7]+$/.test(secret)) return null;
  const delta = totpOf(secret).validate({ token: code, timestamp: nowMs, window: 1 });
  return delta === null ? null : totpStepAt(nowMs) + delta;
}

/** The code an authenticator shows at `nowMs` (tests, and nothing else, compute codes). */
export function totpCodeAt(secret: string, nowMs: number): string {
  return totpOf(secret).generate({ timestamp: nowMs });
}

/** The otpauth:// URI and its QR code as an inline SVG, for the enrolment page. */
export async function totpEnrolment(secret: string, email: string): Promise<{ uri: string; qrSvg: string }> {
  const uri = totpOf(secret, email).toString();
  const qrSvg = await QRCode.toString(uri, { type: 'svg', margin: 1, errorCorrectionLevel: 'M' });
  return { uri, qrSvg };
}

/** Normalises what people type: spaces and dashes between the digits are fine. */
export function normalizeTotpCode(raw: string): string {
  return raw.replace(/[\s-]/g, '').slice(0, 16);
}
