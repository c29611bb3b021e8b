// Allowlists for every string we write into a managed kubeconfig (docs/adr/0008-kubeconfig-rendering.md).
// The renderer (kubeconfig-json.ts) writes any valid Unicode string so that client-go reads it back
// exactly; these rules refuse what no legitimate value of the field contains (line and paragraph
// separators, controls, invisible format characters, hosts Go and WHATWG parse differently), so that
// a value is either plausible and exact, or refused with an error naming the field. Errors say which
// character and where, never the value: it may be a credential.
import { isIPv4, isIPv6 } from 'node:net';
import { InvalidInputError } from '../errors.js';

/** Longer URLs are refused: the server is reported in workflow history, and no real one is this long. */
export const MAX_URL_LENGTH = 2048;
const MAX_DNS_NAME = 253;

/**
 * Letters, marks, digits, punctuation, symbols and the ASCII space: what a name or a password may
 * hold. Not: controls (NEL U+0085 is one), line/paragraph separators, other spaces, format characters
 * (bidi overrides, zero-width, BOM), private-use, unassigned and unpaired surrogates.
 */
const PRINTABLE_CHAR = /[\p{L}\p{M}\p{N}\p{P}\p{S} ]/u;
const VISIBLE_ASCII_CHAR = /[\x21-\x7e]/;

/** "U+2028 at character 5" for the first character of `value` outside `allowed`, or undefined. */
function firstOutside(value: string, allowed: RegExp): string | undefined {
  let position = 0;
  for (const ch of value) {
    position++;
    if (!allowed.test(ch)) {
      const code = ch.codePointAt(0) ?? 0;
      return `U+${code.toString(16).toUpperCase().padStart(4, '0')} at character ${position}`;
    }
  }
  return undefined;
}

function requireString(value: unknown, object: string, field: string): string {
  if (typeof value !== 'string') throw new InvalidInputError(object, field, 'must be a string');
  return value;
}

/** Text a person reads (names, passwords): printable characters and spaces only. */
export function printableText(value: unknown, object: string, field: string): string {
  const text = requireString(value, object, field);
  const bad = firstOutside(text, PRINTABLE_CHAR);
  if (bad) {
    throw new InvalidInputError(
      object,
      field,
      `must contain only letters, digits, punctuation, symbols and spaces; found ${bad} ` +
        '(line breaks, control, invisible and bidirectional-formatting characters are refused)',
    );
  }
  return text;
}

/** A cluster, user or context name in the kubeconfig we write. */
export function kubeconfigName(value: unknown, object: string, field: string): string {
  const name = printableText(value, object, field);
  if (name === '') throw new InvalidInputError(object, field, 'must not be empty');
  return name;
}

/** A bearer token: visible ASCII (RFC 6750 tokens are a subset); it goes into an HTTP header as it is. */
export function bearerToken(value: unknown, object: string, field: string): string {
  const token = requireString(value, object, field);
  const bad = firstOutside(token, VISIBLE_ASCII_CHAR);
  if (bad) throw new InvalidInputError(object, field, `must be visible ASCII characters without spaces; found ${bad}`);
  return token;
}

/** A basic-auth user name: printable, and without ':' (the Authorization header splits user and password at the first one). */
export function basicAuthUsername(value: unknown, object: string, field: string): string {
  const username = printableText(value, object, field);
  if (username.includes(':')) throw new InvalidInputError(object, field, 'must not contain ":" (basic authentication splits user and password at the first one)');
  return username;
}

const DNS_LABEL = '[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?';
const DNS_NAME_RE = new RegExp(`^${DNS_LABEL}(?:\\.${DNS_LABEL})*$`);

/** A host name of letters, digits, '-' and '_' in dot-separated labels, or an IPv4/IPv6 address (no zone). */
export function isDnsNameOrIp(host: string): boolean {
  if (isIPv4(host) || (isIPv6(host) && !host.includes('%'))) return true;
  return host.length <= MAX_DNS_NAME && DNS_NAME_RE.test(host);
}

/** `tls-server-name`: what the server's certificate is checked against, so a DNS name or an IP address. */
export function tlsServerName(value: unknown, object: string, field: string): string {
  const name = requireString(value, object, field);
  if (!isDnsNameOrIp(name)) {
    throw new InvalidInputError(object, field, `must be a DNS name (letters, digits, "-", "_" and ".", at most ${MAX_DNS_NAME} characters) or an IP address`);
  }
  return name;
}

const PROXY_SCHEMES = new Set(['http:', 'https:', 'socks5:']);

/**
 * `proxy-url`: http, https or socks5 to a host and port, nothing else. Returned in the form the WHATWG
 * parser normalises it to (scheme and host lower-cased where the scheme defines it, default port
 * dropped): that parsed value is what we write, never the input.
 */
export function proxyUrl(value: unknown, object: string, field: string): string {
  const text = requireString(value, object, field);
  if (text.length > MAX_URL_LENGTH) throw new InvalidInputError(object, field, `is longer than ${MAX_URL_LENGTH} characters`);
  const bad = firstOutside(text, VISIBLE_ASCII_CHAR);
  if (bad || text.includes('\\')) throw new InvalidInputError(object, field, `must be visible ASCII without spaces or backslashes; found ${bad ?? '"\\"'}`);
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new InvalidInputError(object, field, 'is not a URL');
  }
  if (!PROXY_SCHEMES.has(url.protocol)) throw new InvalidInputError(object, field, 'must be an http://, https:// or socks5:// URL');
  if (url.username || url.password || text.includes('@')) {
    throw new InvalidInputError(object, field, 'must not contain user information (proxy credentials are not supported)');
  }
  if (url.search || url.hash || text.includes('?') || text.includes('#')) throw new InvalidInputError(object, field, 'must not contain a query or fragment');
  if (url.pathname !== '' && url.pathname !== '/') throw new InvalidInputError(object, field, 'must not contain a path: a proxy is a host and a port');
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  if (!isDnsNameOrIp(host)) throw new InvalidInputError(object, field, 'must name its host by a DNS name or an IP address');
  return `${url.protocol}//${url.host}`;
}

/**
 * The server URL in the one shape Go's url.Parse (client-go) and the WHATWG parser read alike:
 * lower-case `http`/`https`, a DNS name or IP address, an optional numeric port, an optional path of
 * URL path characters and %-escapes. Everything else is refused rather than interpreted.
 */
const SERVER_RE = /^https?:\/\/(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+)(?::(\d{1,5}))?((?:\/(?:[A-Za-z0-9\-._~!$&'()*+,;=:]|%[0-9A-Fa-f]{2})*)*)$/;

/** The host, port and path of a server URL, or a reason it is refused. */
export function serverShape(server: string): string | undefined {
  const m = SERVER_RE.exec(server);
  if (!m) return 'must be http(s)://host[:port][/path] with a DNS name or IP address as host and URL path characters only';
  const host = (m[1] ?? '').replace(/^\[(.*)\]$/, '$1');
  if (!isDnsNameOrIp(host)) return 'must name its host by a DNS name or an IP address';
  const port = m[2];
  if (port !== undefined && (Number(port) < 1 || Number(port) > 65535)) return 'has a port outside 1-65535';
  return undefined;
}
