import { describe, expect, it } from 'vitest';
import { Action, Role, can, hasRole, type Principal } from '../../../src/admin/auth/roles.js';

// The matrix written out by hand, independent of the implementation's sets.
const EXPECTED: Record<Role, Record<Action, boolean>> = {
  admin: {
    'dashboard.view': true,
    'units.manage': true,
    'channels.manage': true,
    'users.manage': true,
    'audit.view': true,
    'queues.view': true,
    'announcements.manage': true,
    'handoffs.manage': true,
    'catalogue.notes': true,
    'dossiers.manage': true,
    'surveys.manage': true,
    'reports.view': true,
    'exports.download': true,
  },
  officer: {
    'dashboard.view': true,
    'units.manage': false,
    'channels.manage': false,
    'users.manage': false,
    'audit.view': false,
    'queues.view': false,
    'announcements.manage': true,
    'handoffs.manage': true,
    'catalogue.notes': true,
    'dossiers.manage': true,
    'surveys.manage': false,
    'reports.view': false,
    'exports.download': false,
  },
  reporter: {
    'dashboard.view': true,
    'units.manage': false,
    'channels.manage': false,
    'users.manage': false,
    'audit.view': false,
    'queues.view': false,
    'announcements.manage': false,
    'handoffs.manage': false,
    'catalogue.notes': false,
    'dossiers.manage': false,
    'surveys.manage': true,
    'reports.view': true,
    'exports.download': true,
  },
};

const targets: Array<string | null> = ['xa-a', 'xa-b', null];

describe('can()', () => {
  for (const role of Role.options) {
    for (const action of Action.options) {
      it(`${role} / ${action}`, () => {
        const wide: Principal = { role, unitId: null };
        const bound: Principal = { role, unitId: 'xa-a' };
        const allowed = EXPECTED[role][action];
        for (const t of targets) expect(can(wide, action, t)).toBe(allowed);
        expect(can(bound, action, 'xa-a')).toBe(allowed);
        // A unit-bound user never acts on another unit nor deployment-wide.
        expect(can(bound, action, 'xa-b')).toBe(false);
        expect(can(bound, action, null)).toBe(false);
      });
    }
  }

  it('covers every action in the expected table', () => {
    for (const role of Role.options) expect(Object.keys(EXPECTED[role]).sort()).toEqual([...Action.options].sort());
  });
});

describe('hasRole()', () => {
  it('counts an admin as every role, others as their own only', () => {
    expect(hasRole({ role: 'admin', unitId: null }, 'officer')).toBe(true);
    expect(hasRole({ role: 'officer', unitId: 'xa-a' }, 'officer')).toBe(true);
    expect(hasRole({ role: 'officer', unitId: 'xa-a' }, 'reporter')).toBe(false);
    expect(hasRole({ role: 'reporter', unitId: null }, 'admin')).toBe(false);
  });
});
