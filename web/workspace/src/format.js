// Dates and durations as the workspace shows them.

const clock = new Intl.DateTimeFormat(undefined, { hour: 'numeric', minute: '2-digit' });
const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

/** "14:05" (or "2:05 PM"), for chat items. */
export function formatClock(ms) {
  return ms ? clock.format(new Date(ms)) : '';
}

/** "22 Nov 2026, 14:05", for when a contact started. */
export function formatDateTime(ms) {
  return ms ? dateTime.format(new Date(ms)) : '—';
}

/** "0:27", for countdowns. */
export function formatCountdown(ms) {
  const seconds = Math.max(0, Math.ceil(ms / 1000));
  return `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, '0')}`;
}

/** ISO-8601 text for `<time datetime>`. */
export function isoOf(ms) {
  return ms ? new Date(ms).toISOString() : undefined;
}

/** "45s", "4m 05s", "2h 03m": how long something has been waiting. */
export function formatDuration(ms) {
  const seconds = Math.max(0, Math.floor(ms / 1000));
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m ${String(seconds % 60).padStart(2, '0')}s`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return `${hours}h ${String(minutes % 60).padStart(2, '0')}m`;
  return `${Math.floor(hours / 24)}d ${hours % 24}h`;
}
