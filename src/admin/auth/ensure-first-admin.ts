// First run: when there are no staff users at all, create `admin` (province-wide) with a
// one-time password and hand it back so the caller prints it once. Never logged.
import type { Logger } from '../../logger.js';
import type { StaffRepository } from '../../store/staff-repository.js';

export async function ensureFirstAdmin(staff: StaffRepository, log: Pick<Logger, 'info'>): Promise<{ username: string; oneTimePassword: string } | undefined> {
  if ((await staff.count()) > 0) return undefined;
  // Two processes starting together: the unique username lets only one create it.
  const created = await staff.create({ username: 'admin', role: 'admin', unitId: null });
  if (!created) return undefined;
  log.info({ staffUser: created.user.username }, 'first admin user created; its one-time password is shown once');
  return { username: created.user.username, oneTimePassword: created.oneTimePassword };
}
