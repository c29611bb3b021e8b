// `--metrics-addr` (cli/config.ts): default, disabling, validation.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigError, USAGE, parseConfig, type AppConfig } from '../../cli/config.js';

const parse = (...argv: string[]): AppConfig => parseConfig(argv) as AppConfig;

describe('--metrics-addr', () => {
  test('serves on :9464 by default, next to /healthz on :9440', () => {
    assert.deepEqual(parse('run').metricsAddr, { host: '0.0.0.0', port: 9464 });
    assert.deepEqual(parse('worker').healthAddr, { host: '0.0.0.0', port: 9440 });
  });
  test('takes HOST:PORT or :PORT; "0" disables it', () => {
    assert.deepEqual(parse('run', '--metrics-addr', '127.0.0.1:9999').metricsAddr, { host: '127.0.0.1', port: 9999 });
    assert.deepEqual(parse('watcher', '--metrics-addr=:8080').metricsAddr, { host: '0.0.0.0', port: 8080 });
    assert.equal(parse('run', '--metrics-addr', '0').metricsAddr, undefined);
  });
  test('errors name the flag', () => {
    assert.throws(() => parse('run', '--metrics-addr', 'nope'), (e) => e instanceof ConfigError && /--metrics-addr=nope/.test(e.message));
    assert.throws(() => parse('run', '--metrics-addr', ':0'), (e) => e instanceof ConfigError && /--metrics-addr=:0: needs a port/.test(e.message));
    assert.throws(() => parse('run', '--health-addr', 'nope'), (e) => e instanceof ConfigError && /--health-addr=nope/.test(e.message));
  });
  test('the usage lists it and the operator commands', () => {
    assert.match(USAGE, /--metrics-addr/);
    assert.match(USAGE, /status \[NAMESPACE\/NAME\]/);
    assert.match(USAGE, /refresh NAMESPACE\/NAME/);
  });
});
