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

  it('takes a Redis Cluster hash tag as key prefix, and a cluster only with one', () => {
    expect(loadConfig({})).toMatchObject({ REDIS_CLUSTER: false, REDIS_KEY_PREFIX: 'motcua' });
    expect(loadConfig({ REDIS_KEY_PREFIX: '{motcua}' }).REDIS_KEY_PREFIX).toBe('{motcua}');
    expect(loadConfig({ REDIS_KEY_PREFIX: '{xa_tan-phu}prod-1' }).REDIS_KEY_PREFIX).toBe('{xa_tan-phu}prod-1');
    for (const bad of ['moc cua', 'a{b}', '{}', '{a}{b}', '{a', 'a:b', '']) {
      if (bad === '') expect(loadConfig({ REDIS_KEY_PREFIX: bad }).REDIS_KEY_PREFIX).toBe('motcua');
      else expect(() => loadConfig({ REDIS_KEY_PREFIX: bad }), bad).toThrow(/REDIS_KEY_PREFIX/);
    }
    const cluster = loadConfig({ REDIS_CLUSTER: 'true', REDIS_KEY_PREFIX: '{motcua}', REDIS_URL: 'redis://10.0.0.1:7000, redis://10.0.0.2:7000' });
    expect(cluster).toMatchObject({ REDIS_CLUSTER: true, REDIS_KEY_PREFIX: '{motcua}' });
    // Without a hash tag the queues' keys would spread over slots: refused at start, in both languages.
    let message = '';
    try {
      loadConfig({ REDIS_CLUSTER: 'true' });
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      message = err instanceof Error ? err.message : '';
    }
    expect(message).toMatch(/REDIS_KEY_PREFIX: khi REDIS_CLUSTER=true phải mở đầu bằng một hash tag/);
    expect(message).toMatch(/e\.g\. \{motcua\}/);
    expect(() => loadConfig({ REDIS_CLUSTER: 'true', REDIS_KEY_PREFIX: 'motcua-prod' })).toThrow(/\{motcua-prod\}/);
    // Several nodes only for a cluster; a bad node names REDIS_URL.
    expect(() => loadConfig({ REDIS_URL: 'redis://10.0.0.1:7000,redis://10.0.0.2:7000' })).toThrow(/REDIS_URL.*REDIS_CLUSTER/);
    expect(() => loadConfig({ REDIS_CLUSTER: 'true', REDIS_KEY_PREFIX: '{m}', REDIS_URL: 'redis://10.0.0.1:7000,http://x' })).toThrow(/REDIS_URL/);
    expect(() => loadConfig({ REDIS_CLUSTER: 'maybe' })).toThrow(/REDIS_CLUSTER/);
  });

  it('requires a secret key in production', () => {
    expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(/SECRET_KEY/);
    expect(loadConfig({ NODE_ENV: 'production', SECRET_KEY: 'x'.repeat(32) }).NODE_ENV).toBe('production');
  });
});
