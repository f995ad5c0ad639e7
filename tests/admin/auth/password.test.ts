import { describe, expect, it } from 'vitest';
import { generateOneTimePassword, hashPassword, verifyPassword } from '../../../src/admin/auth/password.js';

describe('password hashing', () => {
  it('verifies the right password and refuses a wrong one', async () => {
    const h = await hashPassword('Mật khẩu rất dài 2026');
    expect(h).toMatch(/^scrypt\$32768\$8\$1\$[A-Za-z0-9_-]+\$[A-Za-z0-9_-]+$/);
    expect(await verifyPassword('Mật khẩu rất dài 2026', h)).toBe(true);
    expect(await verifyPassword('Mật khẩu rất dài 2027', h)).toBe(false);
    // NFD input of the same text is the same password.
    expect(await verifyPassword('Mật khẩu rất dài 2026'.normalize('NFD'), h)).toBe(true);
  });

  it('salts: the same password hashes differently each time', async () => {
    const cheap = { N: 1024, r: 8, p: 1 };
    const a = await hashPassword('same', cheap);
    const b = await hashPassword('same', cheap);
    expect(a).not.toBe(b);
    expect(await verifyPassword('same', a)).toBe(true);
    expect(await verifyPassword('same', b)).toBe(true);
  });

  it('refuses malformed or hostile stored hashes without throwing', async () => {
    const good = await hashPassword('x', { N: 1024, r: 8, p: 1 });
    const [, , , , salt, key] = good.split('$');
    const bad = [
      '',
      'plain-text',
      'bcrypt$10$abc',
      `scrypt$1024$8$1$${salt}`,
      `scrypt$1000$8$1$${salt}$${key}`, // N not a power of two
      `scrypt$${2 ** 24}$8$1$${salt}$${key}`, // too costly
      `scrypt$1024$8$1$${salt}$${key}x`, // wrong key length
      `scrypt$1024$8$1$${salt}$${key}$extra`,
      `scrypt$1024$8$1$s@lt!$${key}`,
      `scrypt$abc$8$1$${salt}$${key}`,
    ];
    for (const h of bad) expect(await verifyPassword('x', h)).toBe(false);
    expect(await verifyPassword('x', good)).toBe(true);
  });

  it('makes readable one-time passwords', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 50; i++) {
      const p = generateOneTimePassword();
      expect(p.replace(/-/g, '').length).toBeGreaterThanOrEqual(16);
      expect(p).toMatch(/^[a-km-zA-HJ-NP-Z2-9]{5}(-[a-km-zA-HJ-NP-Z2-9]{5}){3}$/);
      expect(p).not.toMatch(/[01lIO]/);
      seen.add(p);
    }
    expect(seen.size).toBe(50);
  });
});
