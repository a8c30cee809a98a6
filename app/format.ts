const DATE = new Intl.DateTimeFormat('en-GB', {
  day: 'numeric',
  month: 'short',
  year: 'numeric',
  hour: '2-digit',
  minute: '2-digit',
  timeZone: 'UTC',
});

/** `21 Nov 2026, 23:57 UTC`: pages are rendered on the server, which does not know the reader's zone. */
export function formatTime(ms: number): string {
  return `${DATE.format(new Date(ms))} UTC`;
}

const DAY = new Intl.DateTimeFormat('en-GB', {
  day: 'numeric',
  month: 'short',
  year: 'numeric',
  timeZone: 'UTC',
});

/** `21 Nov 2026`. */
export function formatDate(ms: number): string {
  return DAY.format(new Date(ms));
}

/** The ISO form, for `<time datetime>`. */
export function isoTime(ms: number): string {
  return new Date(ms).toISOString();
}

/** `just now`, `5 minutes ago`, `in 3 hours`. */
export function relativeTime(ms: number, now = Date.now()): string {
  const seconds = Math.round((ms - now) / 1000);
  const abs = Math.abs(seconds);
  if (abs < 45) return 'just now';
  const [value, unit] =
    abs < 3600
      ? [Math.round(abs / 60), 'minute']
      : abs < 86_400
        ? [Math.round(abs / 3600), 'hour']
        : [Math.round(abs / 86_400), 'day'];
  const text = `${value} ${unit}${value === 1 ? '' : 's'}`;
  return seconds < 0 ? `${text} ago` : `in ${text}`;
}

/** `30 minutes`, `12 hours`: a duration for people. */
export function formatDuration(ms: number): string {
  const minutes = Math.round(ms / 60_000);
  if (minutes < 1) return `${Math.round(ms / 1000)} seconds`;
  if (minutes < 120) return `${minutes} minute${minutes === 1 ? '' : 's'}`;
  return `${Math.round(minutes / 60)} hours`;
}

/** The helpers every template receives as `it.fmt`. */
export const fmt = {
  time: formatTime,
  date: formatDate,
  iso: isoTime,
  ago: relativeTime,
  duration: formatDuration,
};
