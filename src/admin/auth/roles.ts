// Who may do what: the staff roles, the actions of the admin web, and the one pure decision
// `can(user, action, unitId)` that every route asks. A user with unitId null is province-wide
// (the whole deployment); a unit-bound user acts only on their own unit.
import { z } from 'zod';

export const Role = z.enum(['admin', 'officer', 'reporter']);
export type Role = z.infer<typeof Role>;

export const Action = z.enum([
  'dashboard.view',
  'units.manage',
  'channels.manage',
  'users.manage',
  'audit.view',
  'queues.view',
  'announcements.manage',
  'handoffs.manage',
  'catalogue.notes',
  'dossiers.manage',
  'surveys.manage',
  'reports.view',
  'exports.download',
]);
export type Action = z.infer<typeof Action>;

export interface Principal {
  role: Role;
  /** null = province-wide. */
  unitId: string | null;
}

const OFFICER: ReadonlySet<Action> = new Set<Action>(['dashboard.view', 'announcements.manage', 'handoffs.manage', 'catalogue.notes', 'dossiers.manage']);
const REPORTER: ReadonlySet<Action> = new Set<Action>(['dashboard.view', 'surveys.manage', 'reports.view', 'exports.download']);

function roleAllows(role: Role, action: Action): boolean {
  switch (role) {
    case 'admin':
      return true;
    case 'officer':
      return OFFICER.has(action);
    case 'reporter':
      return REPORTER.has(action);
  }
}

/**
 * May `user` do `action` on `unitId`? unitId null means deployment-wide (all units, or
 * something that belongs to no unit), which only a province-wide user may touch.
 */
export function can(user: Principal, action: Action, unitId: string | null): boolean {
  if (!roleAllows(user.role, action)) return false;
  return user.unitId === null || user.unitId === unitId;
}

/** Has `user` the role `role`? An admin counts as every role, within the same unit scope. */
export function hasRole(user: Principal, role: Role): boolean {
  return user.role === 'admin' || user.role === role;
}
