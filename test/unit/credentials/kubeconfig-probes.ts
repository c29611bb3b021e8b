// Source kubeconfigs from the adversarial review (issue 8): each one is read by client-go as something
// dangerous (an exec plugin, a token file, another context) while a YAML parser that ignores the
// construct sees a harmless file. The unit tests assert that we refuse each; the client-go parity
// test (test/integration/kubeconfig-client-go.test.ts) asserts that client-go does see the danger.

/** What client-go's clientcmd.Load makes of the current context of a probe. */
export interface ClientGoView {
  /** The current context's name. */
  context?: string;
  server?: string;
  hasExec?: boolean;
  tokenFile?: string;
}

export interface SmugglingProbe {
  name: string;
  text: string;
  /** Our refusal. */
  refused: RegExp;
  /** What client-go must see in it (the reason it is refused). */
  clientGo: ClientGoView;
}

const GOOD_SERVER = 'https://good.example:6443';
export const EVIL_SERVER = 'https://evil.example:6443';
const SA_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';

function kubeconfig(user: string, root = ''): string {
  return `apiVersion: v1
kind: Config
clusters:
- name: good
  cluster:
    server: ${GOOD_SERVER}
- name: evil
  cluster:
    server: ${EVIL_SERVER}
users:
- name: u
  user:
${user}
- name: other
  user:
    token: other-token
contexts:
- name: good
  context: {cluster: good, user: u}
- name: evil
  context: {cluster: evil, user: other}
current-context: good
${root}`;
}

export const SMUGGLING_PROBES: readonly SmugglingProbe[] = [
  {
    name: 'exec hidden behind an explicit null and a merge key',
    text: kubeconfig(`    token: harmless-token
    exec: ~
    <<: [{exec: {apiVersion: client.authentication.k8s.io/v1, command: /bin/evil}}]`),
    refused: /merge keys/,
    clientGo: { context: 'good', server: GOOD_SERVER, hasExec: true },
  },
  {
    name: 'tokenFile through a merge key',
    text: kubeconfig(`    token: harmless-token
    <<: {tokenFile: ${SA_TOKEN}}`),
    refused: /merge keys/,
    clientGo: { context: 'good', server: GOOD_SERVER, tokenFile: SA_TOKEN },
  },
  {
    name: 'root-level merge key switching current-context',
    text: kubeconfig('    token: harmless-token', `<<: {current-context: evil}\n`),
    refused: /merge keys/,
    clientGo: { context: 'evil', server: EVIL_SERVER },
  },
  {
    name: 'a YAML source with a duplicate key: goyaml keeps the last one',
    text: kubeconfig(`    token: harmless-token
- name: u2
  user: {token: harmless-token}
  user: {tokenFile: ${SA_TOKEN}}`).replace('user: u}', 'user: u2}'),
    refused: /appears more than once/,
    clientGo: { context: 'good', server: GOOD_SERVER, tokenFile: SA_TOKEN },
  },
  {
    name: 'a JSON source with a duplicate key: the last one wins in a JSON decoder',
    text: JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'good', cluster: { server: GOOD_SERVER } }],
      users: [{ name: 'u', user: { token: 'harmless-token' } }],
      contexts: [{ name: 'good', context: { cluster: 'good', user: 'u' } }],
      'current-context': 'good',
    }).replace('"token":"harmless-token"', `"token":"harmless-token","tokenFile":null,"tokenFile":"${SA_TOKEN}"`),
    refused: /appears more than once/,
    clientGo: { context: 'good', server: GOOD_SERVER, tokenFile: SA_TOKEN },
  },
];
