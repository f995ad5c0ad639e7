import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.js';

describe('loadConfig', () => {
  it('gives working defaults on an empty environment', () => {
    const cfg = loadConfig({});
    expect(cfg.PORT).toBe(3000);
    expect(cfg.REDIS_URL).toBe('redis://127.0.0.1:6379');
    expect(cfg.DATABASE_URL).toBeUndefined();
    expect(cfg.dataDir.endsWith('data')).toBe(true);
  });

  it('treats empty strings as unset', () => {
    expect(loadConfig({ DATABASE_URL: '' }).DATABASE_URL).toBeUndefined();
  });

  it('names the bad setting and fails closed', () => {
    expect(() => loadConfig({ PORT: 'abc' })).toThrow(ConfigError);
    expect(() => loadConfig({ PORT: 'abc' })).toThrow(/PORT/);
    expect(() => loadConfig({ DATABASE_URL: 'mysql://x' })).toThrow(/DATABASE_URL/);
    expect(() => loadConfig({ REDIS_URL: 'localhost:6379' })).toThrow(/REDIS_URL/);
  });

  it('sizes the database pool and the inbound drains from settings, within bounds', () => {
    expect(loadConfig({})).toMatchObject({ DATABASE_POOL_SIZE: 10, INBOUND_CONCURRENCY: 8 });
    expect(loadConfig({ DATABASE_POOL_SIZE: '25', INBOUND_CONCURRENCY: '32' })).toMatchObject({ DATABASE_POOL_SIZE: 25, INBOUND_CONCURRENCY: 32 });
    expect(() => loadConfig({ DATABASE_POOL_SIZE: '0' })).toThrow(/DATABASE_POOL_SIZE/);
    expect(() => loadConfig({ INBOUND_CONCURRENCY: 'nhiều' })).toThrow(/INBOUND_CONCURRENCY/);
  });

  it('requires a secret key in production', () => {
    expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(/SECRET_KEY/);
    expect(loadConfig({ NODE_ENV: 'production', SECRET_KEY: 'x'.repeat(32) }).NODE_ENV).toBe('production');
  });
});
