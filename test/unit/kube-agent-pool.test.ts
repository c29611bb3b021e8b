import assert from 'node:assert/strict';
import http from 'node:http';
import https from 'node:https';
import { test } from 'node:test';
import { KeepAliveAgents } from '../../activities/kube/agent-pool.js';

test('requests with the same TLS settings share one keep-alive agent; other settings get their own', () => {
  const pool = new KeepAliveAgents();
  const a = pool.reuse(new https.Agent({ ca: 'CA-1', rejectUnauthorized: true }));
  const b = pool.reuse(new https.Agent({ ca: 'CA-1', rejectUnauthorized: true }));
  const c = pool.reuse(new https.Agent({ ca: 'CA-2', rejectUnauthorized: true }));
  assert.ok(a instanceof https.Agent);
  assert.equal(a, b, 'one connection pool for one API server identity');
  assert.notEqual(a, c, 'a rotated CA gets a fresh pool');
  assert.equal((a as https.Agent & { keepAlive: boolean }).keepAlive, true);
  pool.destroy();
});

test('plain http agents and agents already keeping connections alive pass through', () => {
  const pool = new KeepAliveAgents();
  const plain = new http.Agent();
  assert.equal(pool.reuse(plain), plain);
  const kept = new https.Agent({ keepAlive: true });
  assert.equal(pool.reuse(kept), kept);
  pool.destroy();
});
