// A YAML reader for source kubeconfigs that accepts only the part of YAML on which this parser and
// client-go (goyaml v2 behind sigs.k8s.io/yaml) agree, in time linear in the input, so that one profile's source never stalls a worker.
// Refused, because the two parsers read them differently or they cost more than their size:
//   - merge keys `<<`: goyaml v2 applies them over explicit keys, this library does not;
//   - directives (%YAML, %TAG) and any tag outside the core schema (!!binary, !custom, …);
//   - anchors and aliases: nothing in a kubeconfig needs them, and expanding them is the classic
//     "billion laughs" amplification;
//   - duplicate keys (goyaml v2 fails, JSON decoders keep the last) and non-scalar keys;
//   - more than one document, flow nesting deeper than MAX_FLOW_DEPTH, more than MAX_TOKENS tokens,
//     input over MAX_SOURCE_BYTES: together they bound the parse to well under 100 ms of CPU.
// The library's own duplicate-key check compares each key with every earlier key of its map
// (quadratic: minutes for one flow map of 40k keys), so it is off and replaced by a Set per map.
import { CST, Lexer, isMap, isPair, isScalar, isSeq, parseDocument, type Node } from 'yaml';
import { InvalidInputError } from '../errors.js';
import { quoted } from '../../workflows/text.js';

/** Larger sources are refused before parsing. */
export const MAX_SOURCE_BYTES = 256 * 1024;
/** `[[[[…` nesting is recursion in the composer; kubeconfigs need three or four levels. */
export const MAX_FLOW_DEPTH = 64;
/**
 * Lexer tokens (scalars, indicators, spaces, line breaks). Parsing costs per token, and 256 KiB of
 * `[1],` is 260k tokens (close to a second of CPU); a kubeconfig with a hundred contexts has ~10k.
 */
export const MAX_TOKENS = 50_000;

/** Explicit tags that only restate what the YAML core schema resolves anyway. */
const CORE_TAGS = new Set(['str', 'int', 'bool', 'null', 'map', 'seq', 'float'].map((t) => `tag:yaml.org,2002:${t}`));

/**
 * Parses `text` (at most MAX_SOURCE_BYTES of UTF-8) into plain JS values, or throws an
 * InvalidInputError naming `object` and `at` and the line of the first refused construct. The error
 * never quotes the source: it may hold credentials.
 */
export function parseStrictYaml(text: string, object: string, at: string): unknown {
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > MAX_SOURCE_BYTES) {
    throw new InvalidInputError(object, at, `is ${bytes} bytes long; a source kubeconfig may have at most ${MAX_SOURCE_BYTES} bytes`);
  }
  const refuse = (offset: number, what: string): never => {
    throw new InvalidInputError(object, at, `${what} (line ${lineAt(text, offset)}); write a plain kubeconfig`);
  };
  scanTokens(text, refuse);

  let doc: ReturnType<typeof parseDocument>;
  try {
    doc = parseDocument(text, {
      version: '1.1',
      merge: false,
      uniqueKeys: false,
      // 'error', not 'silent': only then does the library report a second document.
      logLevel: 'error',
      prettyErrors: false,
    });
  } catch {
    throw new InvalidInputError(object, at, 'is not valid YAML');
  }
  const first = doc.errors[0];
  if (first) {
    // The library's message quotes the offending source line, which may be a credential.
    throw new InvalidInputError(object, at, `is not valid YAML (${first.code} at line ${lineAt(text, first.pos[0])})`);
  }
  checkNodes(doc.contents, refuse);
  return doc.toJS({ maxAliasCount: 0 });
}

/** One pass over the lexer's tokens: directives, anchors, aliases, flow depth and count, before any parsing. */
function scanTokens(text: string, refuse: (offset: number, what: string) => never): void {
  let offset = 0;
  let depth = 0;
  let count = 0;
  for (const token of new Lexer().lex(text)) {
    if (++count > MAX_TOKENS) refuse(offset, `is refused: more than ${MAX_TOKENS} YAML tokens, far more than any kubeconfig has`);
    switch (CST.tokenType(token)) {
      case 'directive-line':
        refuse(offset, 'is refused: YAML directives (%YAML, %TAG) are not allowed');
        break;
      case 'anchor':
        refuse(offset, 'is refused: YAML anchors (&name) are not allowed');
        break;
      case 'alias':
        refuse(offset, 'is refused: YAML aliases (*name) are not allowed');
        break;
      case 'flow-map-start':
      case 'flow-seq-start':
        if (++depth > MAX_FLOW_DEPTH) refuse(offset, `is refused: collections nested more than ${MAX_FLOW_DEPTH} deep`);
        break;
      case 'flow-map-end':
      case 'flow-seq-end':
        depth = Math.max(0, depth - 1);
        break;
      default:
        break;
    }
    // The lexer's mode markers are not source text.
    if (token !== CST.DOCUMENT && token !== CST.SCALAR && token !== CST.FLOW_END) offset += token.length;
  }
}

/** Tags and keys, which the token scan cannot judge, over the whole tree without recursion. */
function checkNodes(root: Node | null, refuse: (offset: number, what: string) => never): void {
  const stack: Node[] = root ? [root] : [];
  for (let node = stack.pop(); node !== undefined; node = stack.pop()) {
    const offset = node.range?.[0] ?? 0;
    if (node.tag !== undefined && !CORE_TAGS.has(node.tag)) {
      refuse(offset, `is refused: the YAML tag ${quoted(node.tag, 64)} is not allowed (only plain values)`);
    }
    if (isMap(node)) {
      const seen = new Set<string>();
      for (const pair of node.items) {
        if (!isPair(pair)) continue;
        const key = pair.key as Node | null;
        const keyOffset = key?.range?.[0] ?? offset;
        if (!isScalar(key)) refuse(keyOffset, 'is refused: a mapping key is not a plain value');
        const value = key.value;
        if (typeof value === 'symbol' || value === '<<' || key.source === '<<') {
          refuse(keyOffset, 'is refused: YAML merge keys (<<) are not allowed');
        }
        if (value === null || value === undefined || value === '') refuse(keyOffset, 'is refused: a mapping key is empty');
        // JSON conversion (client-go) turns every scalar key into its string: 1 and "1" collide.
        if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean' && typeof value !== 'bigint') {
          refuse(keyOffset, 'is refused: a mapping key is not a plain value');
        }
        const name = String(value);
        if (seen.has(name)) refuse(keyOffset, 'is refused: a key appears more than once in one mapping');
        seen.add(name);
        stack.push(key);
        if (pair.value) stack.push(pair.value as Node);
      }
    } else if (isSeq(node)) {
      for (const item of node.items) if (item) stack.push(item as Node);
    }
  }
}

function lineAt(text: string, offset: number): number {
  let line = 1;
  const end = Math.min(offset, text.length);
  for (let i = text.indexOf('\n'); i !== -1 && i < end; i = text.indexOf('\n', i + 1)) line++;
  return line;
}
