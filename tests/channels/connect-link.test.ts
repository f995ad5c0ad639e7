import { describe, expect, it } from 'vitest';
import { signConnectToken, verifyConnectToken } from '../../src/channels/connect/connect-link.js';

const secret = 'x'.repeat(40);

describe('connect links', () => {
  it('verify while fresh and for the unit they name', () => {
    const t = signConnectToken(secret, 'xa-tan-phu', 60, 1_000_000);
    expect(verifyConnectToken(secret, t, 1_000_000 + 30_000)).toEqual({ unit: 'xa-tan-phu', exp: 1060 });
  });

  it('fail when expired, forged, re-signed with another key or mangled', () => {
    const t = signConnectToken(secret, 'xa-tan-phu', 60, 1_000_000);
    expect(verifyConnectToken(secret, t, 1_000_000 + 61_000)).toBeNull();
    expect(verifyConnectToken('y'.repeat(40), t, 1_000_000)).toBeNull();
    const [body, sig] = t.split('.');
    const other = Buffer.from(JSON.stringify({ unit: 'xa-khac', exp: 9_999_999_999 })).toString('base64url');
    expect(verifyConnectToken(secret, `${other}.${sig}`, 1_000_000)).toBeNull();
    expect(verifyConnectToken(secret, `${body}`, 1_000_000)).toBeNull();
    expect(verifyConnectToken(secret, 'garbage', 1_000_000)).toBeNull();
  });
});
