#!/usr/bin/env node
// An example client-go exec credential plugin, meant to be copied and adapted: it mints a short-lived
// ServiceAccount token on the target cluster with the TokenRequest API and prints it as an
// ExecCredential with the token's real `expirationTimestamp`, so that clusterinventory refreshes it at
// 80% of its lifetime. Plain Node (>= 20), no dependencies. docs/configuration.md#example-plugin shows
// the provider file entry and the ClusterProfile extension it reads.
//
// Input (client-go exec contract, provider with `provideClusterInfo: true`):
//   KUBERNETES_EXEC_INFO   spec.cluster.server, spec.cluster.certificate-authority-data, and
//                          spec.cluster.config = the ClusterProfile's client.authentication.k8s.io/exec
//                          extension: {"serviceAccount": "NAMESPACE/NAME", "expirationSeconds": 600}
// Environment (from the provider file, never from a ClusterProfile):
//   TOKEN_MINTER_TOKEN_FILE   a bearer token of an identity allowed to `create serviceaccounts/token`
//                             on the target cluster. Scope it with RBAC (resourceNames) to the accounts
//                             below: this is the credential that can mint the others.
//   ALLOWED_SERVICE_ACCOUNTS  comma-separated NAMESPACE/NAME the plugin may mint tokens for (an
//                             allowlist: a ClusterProfile author chooses the account, the operator
//                             chooses which ones may be chosen).
// The token goes to stdout only; errors never contain it.
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { Buffer } from 'node:buffer';

/** The TokenRequest API's floor (10 min) and a day as ceiling: short-lived on purpose. */
const MIN_SECONDS = 600;
const MAX_SECONDS = 86_400;
const DEFAULT_SECONDS = 600;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;
const API_VERSIONS = ['client.authentication.k8s.io/v1', 'client.authentication.k8s.io/v1beta1'];
const TIMEOUT_MS = 15_000;

class PluginError extends Error {}

function execInfo() {
  const raw = process.env.KUBERNETES_EXEC_INFO;
  if (!raw) throw new PluginError('KUBERNETES_EXEC_INFO is not set: run me as a client-go exec plugin');
  const info = JSON.parse(raw);
  if (!API_VERSIONS.includes(info.apiVersion)) throw new PluginError(`KUBERNETES_EXEC_INFO: unsupported apiVersion ${JSON.stringify(info.apiVersion)}`);
  const cluster = info.spec?.cluster;
  if (!cluster?.server) throw new PluginError('KUBERNETES_EXEC_INFO has no spec.cluster.server: set provideClusterInfo: true in the provider file');
  return { apiVersion: info.apiVersion, cluster };
}

function target(config) {
  const sa = config?.serviceAccount;
  const [namespace, name, ...rest] = typeof sa === 'string' ? sa.split('/') : [];
  if (rest.length || !namespace || !name || !DNS_LABEL.test(namespace) || !DNS_SUBDOMAIN.test(name)) {
    throw new PluginError('exec extension field serviceAccount: expected "NAMESPACE/NAME"');
  }
  const seconds = config.expirationSeconds ?? DEFAULT_SECONDS;
  if (!Number.isInteger(seconds) || seconds < MIN_SECONDS || seconds > MAX_SECONDS) {
    throw new PluginError(`exec extension field expirationSeconds: expected an integer from ${MIN_SECONDS} to ${MAX_SECONDS}`);
  }
  const allowed = (process.env.ALLOWED_SERVICE_ACCOUNTS ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  if (!allowed.includes(`${namespace}/${name}`)) {
    throw new PluginError(`exec extension field serviceAccount: ${namespace}/${name} is not in ALLOWED_SERVICE_ACCOUNTS`);
  }
  return { namespace, name, seconds };
}

function post(url, body, token, ca) {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'application/json' },
        ...(ca ? { ca } : {}),
        timeout: TIMEOUT_MS,
      },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      },
    );
    req.on('timeout', () => req.destroy(new PluginError(`TokenRequest to ${url.host} timed out after ${TIMEOUT_MS / 1000} s`)));
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

async function main() {
  const { apiVersion, cluster } = execInfo();
  const { namespace, name, seconds } = target(cluster.config);
  const tokenFile = process.env.TOKEN_MINTER_TOKEN_FILE;
  if (!tokenFile) throw new PluginError('TOKEN_MINTER_TOKEN_FILE is not set (the provider file sets it)');
  const minterToken = readFileSync(tokenFile, 'utf8').trim();
  const caData = cluster['certificate-authority-data'];
  const ca = caData ? Buffer.from(caData, 'base64') : undefined;
  const url = new URL(`api/v1/namespaces/${namespace}/serviceaccounts/${name}/token`, cluster.server.endsWith('/') ? cluster.server : `${cluster.server}/`);
  const body = { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: seconds } };
  const res = await post(url, body, minterToken, ca);
  if (res.status !== 201 && res.status !== 200) {
    // The API server's Status message names the object and the reason; it never echoes the token.
    let message = `HTTP ${res.status}`;
    try {
      message = JSON.parse(res.text).message ?? message;
    } catch {
      /* not a Status object */
    }
    throw new PluginError(`TokenRequest for ServiceAccount ${namespace}/${name}: ${message}`);
  }
  const status = JSON.parse(res.text).status;
  if (!status?.token || !status.expirationTimestamp) throw new PluginError(`TokenRequest for ServiceAccount ${namespace}/${name}: the answer has no token or expirationTimestamp`);
  process.stdout.write(JSON.stringify({ apiVersion, kind: 'ExecCredential', status: { token: status.token, expirationTimestamp: status.expirationTimestamp } }) + '\n');
}

main().catch((e) => {
  process.stderr.write(`serviceaccount-token: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
