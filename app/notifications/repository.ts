/** What a security notification is about (S38). */
export type NotificationKind =
  | 'new_device'
  | 'password_changed'
  | 'totp_enabled'
  | 'totp_disabled'
  | 'security_alert'
  | 'remembered_device_reused';

/** One in-app notification. */
export interface Notification {
  id: string;
  userId: string;
  kind: NotificationKind;
  text: string;
  createdAt: number;
  /** When the user marked it as read; null while unread. */
  readAt: number | null;
}

/** Whether a device was seen before: the first device of an account is not news to its owner. */
export type DeviceSighting = 'first' | 'new' | 'known';

/**
 * Security notifications and the devices each user has signed in from, beside the users (SQLite, or
 * PostgreSQL when DATABASE_URL is set).
 */
export interface NotificationRepository {
  add(fields: {
    userId: string;
    kind: NotificationKind;
    text: string;
    createdAt: number;
  }): Promise<Notification>;
  /** The user's notifications, newest first. */
  list(userId: string, limit: number): Promise<Notification[]>;
  countUnread(userId: string): Promise<number>;
  /** Marks one notification (or all, without `id`) as read; only the user's own. */
  markRead(userId: string, at: number, id?: string): Promise<number>;
  /**
   * Remembers a device fingerprint (a hash, never the raw IP or user agent) for the user, atomically:
   * of two sign-ins from one new device, only one sees `new`.
   */
  rememberDevice(userId: string, fingerprint: string, at: number): Promise<DeviceSighting>;
  close(): Promise<void>;
}

/** The kinds, for reading rows back. */
export const NOTIFICATION_KINDS: readonly NotificationKind[] = [
  'new_device',
  'password_changed',
  'totp_enabled',
  'totp_disabled',
  'security_alert',
  'remembered_device_reused',
];
