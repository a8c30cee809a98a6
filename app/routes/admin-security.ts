import { Router } from 'express';
import type { AppContext } from '../context.js';
import { adminOnly, signedIn } from '../guards.js';
import { maskIp } from '../notify.js';
import { renderPage } from '../views.js';

/**
 * `/admin/security`: the recent security events of this process (refusals, anomalies, revocations),
 * newest first. Read-only, so the admin role is enough; addresses are shown as their network.
 */
export function adminSecurityPage(ctx: AppContext): Router {
  const router = Router();
  router.get('/admin/security', signedIn('page'), adminOnly('page'), async (req, res) => {
    const recent = ctx.recentSecurityEvents();
    const ids = [...new Set(recent.flatMap((event) => (event.userId ? [event.userId] : [])))];
    const emails = new Map<string, string>();
    for (const user of await Promise.all(ids.map((id) => ctx.users.findById(id)))) {
      if (user) emails.set(user.id, user.email);
    }
    const events = recent.map((event) => ({
      time: Date.parse(event.time),
      type: event.type,
      reason: event.reason ?? '',
      user: event.userId ? (emails.get(event.userId) ?? event.userId) : '',
      network: event.ip ? maskIp(event.ip) : '',
      count: event.count ?? null,
    }));
    renderPage(req, res, 'admin-security', { title: 'Security events', events });
  });
  return router;
}
